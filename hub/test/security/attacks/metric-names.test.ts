/**
 * Metric-name explosion (issue 18, item 2): one device inventing metric
 * names without end. The per-device limit refuses the name past it with
 * too_many_metrics [FP-8], the device's known names keep working, other
 * devices are untouched, and the device list stays bounded per device.
 * SQLite store; the InfluxDB side is in influx-metric-names.test.ts.
 */
import t, { type Test } from 'tap';
import { ConfigError, loadConfig } from '@iot-hub/hub';
import { MAX_METRICS_PER_SAMPLE, type DeviceListResponse, type DeviceView } from '@iot-hub/protocol';
import { dashboardSocket, deviceSocket, type JsonSocket } from '../../helpers/clients.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

/** `count` metric names `prefix0`… in one message's worth of metrics. */
function names(prefix: string, from: number, count: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${from + i}`, from + i]));
}

async function connect(t: Test, hub: TestHub, id: string, token?: string): Promise<JsonSocket> {
  const ws = await deviceSocket(t, hub, id, token ?? (await hub.provision(id)).token);
  await ws.next((f) => f.type === 'welcome');
  return ws;
}

/** Sends one frame and resolves with its ack or error. */
async function send(ws: JsonSocket, frame: Record<string, unknown>): Promise<Record<string, unknown>> {
  ws.send(frame);
  return ws.next((f) => (f.type === 'ack' && f.mid === frame.mid) || (f.type === 'error' && f.ref === frame.mid));
}

async function view(hub: TestHub, id: string): Promise<DeviceView> {
  return (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
}

t.test('a device at its limit of metric names gets too_many_metrics; its known names and other devices go on', async (t) => {
  const hub = await startTestHub(t, { maxMetricsPerDevice: 128 });
  const { token } = await hub.provision('noisy');
  const noisy = await connect(t, hub, 'noisy', token);
  const quiet = await connect(t, hub, 'quiet');

  t.match(await send(noisy, { type: 'telemetry', mid: 1, metrics: names('m', 0, 64) }), { type: 'ack' });
  t.match(await send(noisy, { type: 'telemetry', mid: 2, metrics: names('m', 64, 64) }), { type: 'ack' }, '128 names fit');
  t.same(
    await send(noisy, { type: 'telemetry', mid: 3, metrics: { m0: 1, m129: 2 } }),
    {
      v: 1,
      type: 'error',
      code: 422,
      error: 'too_many_metrics',
      message: 'the device has reached the hub\'s limit of distinct metric names: "m129" would be metric name 129 of device "noisy"; the limit is 128 (--max-metrics-per-device); its known names are still accepted',
      ref: 3,
    },
    'the 129th name is refused, naming the limit and the setting',
  );
  t.notOk(noisy.frames.some((f) => f.type === 'ack' && f.mid === 3), 'the refused message is not acknowledged');
  t.match(await send(noisy, { type: 'telemetry', mid: 4, metrics: { m0: 42, m127: 43 } }), { type: 'ack' }, 'known names still work');
  const batch = { type: 'telemetry', mid: 5, samples: [{ ts: Date.now() - 1000, metrics: { m1: 1 } }, { ts: Date.now(), metrics: { fresh: 1 } }] };
  t.match(await send(noisy, batch), { error: 'too_many_metrics', ref: 5 }, 'a new name anywhere in a batch refuses the batch');

  // Another device's ordinary readings are all stored.
  for (let i = 0; i < 20; i++) t.match(await send(quiet, { type: 'telemetry', mid: i, seq: i, metrics: { temperature: 20 + i } }), { type: 'ack' });
  const history = (await hub.api('GET', '/api/devices/quiet/telemetry?metric=temperature&from=0')).body as { series: { points: unknown[] }[] };
  t.equal(history.series[0]?.points.length, 20, 'every reading of the other device is stored');

  const noisyView = await view(hub, 'noisy');
  t.equal(Object.keys(noisyView.latest).length, 128, 'the device kept exactly its 128 names');
  t.equal(noisyView.latest.m0?.value, 42);
  t.notOk('m129' in noisyView.latest, 'nothing of the refused message was recorded');
  const metrics = (await hub.api('GET', '/metrics')).body as string;
  t.match(metrics, /iot_hub_metric_names_refused_total\{message="telemetry"\} 2/);
  t.match(metrics, /iot_hub_device_errors_total\{code="too_many_metrics"\} 2/);

  // The limit holds across a restart: the names come back from the store.
  noisy.ws.close();
  const again = await hub.restart();
  const ws = await connect(t, again, 'noisy', token);
  t.match(await send(ws, { type: 'telemetry', mid: 6, metrics: { another: 1 } }), { error: 'too_many_metrics' }, 'still at the limit after a restart');
  t.match(await send(ws, { type: 'telemetry', mid: 7, metrics: { m5: 5 } }), { type: 'ack' });
});

t.test('a hello declaring the most metrics a hello may fits; one that would pass the limit is refused', async (t) => {
  const hub = await startTestHub(t, { maxMetricsPerDevice: MAX_METRICS_PER_SAMPLE });
  const ws = await connect(t, hub, 'declarer');
  const declared = Object.fromEntries(Object.keys(names('d', 0, MAX_METRICS_PER_SAMPLE)).map((n) => [n, { type: 'number' }]));
  t.match(await send(ws, { type: 'hello', mid: 'h1', kind: 'sensor', metrics: declared }), { type: 'ack' }, `a hello with ${MAX_METRICS_PER_SAMPLE} metrics fits the smallest limit`);
  t.match(await send(ws, { type: 'telemetry', mid: 1, metrics: names('d', 0, MAX_METRICS_PER_SAMPLE) }), { type: 'ack' }, 'all declared names take readings');
  t.match(await send(ws, { type: 'telemetry', mid: 2, metrics: { undeclared: 1 } }), { error: 'too_many_metrics', code: 422 });

  // Declared names with no readings yet count too, so a device cannot reserve without end by switching hellos.
  const other = Object.fromEntries(Object.keys(names('e', 0, 2)).map((n) => [n, { type: 'number' }]));
  t.match(
    await send(ws, { type: 'hello', mid: 'h2', kind: 'sensor', metrics: other }),
    { type: 'error', code: 422, error: 'too_many_metrics', ref: 'h2', message: /the hello's metrics and the 64 device "declarer" has readings for are 66 names; the limit is 64 \(--max-metrics-per-device\)/ },
  );
  t.same(Object.keys((await view(hub, 'declarer')).capabilities?.metrics ?? {}).length, MAX_METRICS_PER_SAMPLE, 'the refused hello changed nothing');
  t.match((await hub.api('GET', '/metrics')).body, /iot_hub_metric_names_refused_total\{message="hello"\} 1/);
});

t.test('the setting cannot go below what one hello may declare', async (t) => {
  t.throws(() => loadConfig(['--max-metrics-per-device', '63'], {}), ConfigError);
  t.equal(loadConfig([], {}).config.maxMetricsPerDevice, 256, 'default');
});

t.test('GET /api/devices stays bounded per device; GET /api/devices/{id} has every latest value', async (t) => {
  const hub = await startTestHub(t);
  const ws = await connect(t, hub, 'wide');
  const declared = { m0: { type: 'number' }, m255: { type: 'number' } };
  t.match(await send(ws, { type: 'hello', mid: 'h', kind: 'sensor', metrics: declared }), { type: 'ack' });
  for (let i = 0; i < 4; i++) t.match(await send(ws, { type: 'telemetry', mid: i, metrics: names('m', i * 64, 64) }), { type: 'ack' });

  const list = (await hub.api('GET', '/api/devices')).body as DeviceListResponse;
  const listed = list.devices.find((d) => d.id === 'wide');
  t.equal(Object.keys(listed?.latest ?? {}).length, MAX_METRICS_PER_SAMPLE, `the list shows ${MAX_METRICS_PER_SAMPLE} latest values`);
  t.equal(listed?.latestOmitted, 256 - MAX_METRICS_PER_SAMPLE, 'and says how many it left out');
  t.ok(listed?.latest.m0 && listed.latest.m255, 'declared metrics come first');
  const others = Object.keys(listed?.latest ?? {}).filter((n) => n !== 'm0' && n !== 'm255');
  t.ok(others.every((n) => Number(n.slice(1)) >= 192), 'then the newest (the last message: m192 on)');
  t.ok(JSON.stringify(listed).length < 8 * 1024, `one device's list entry is small (${JSON.stringify(listed).length} bytes)`);
  const full = await view(hub, 'wide');
  t.equal(Object.keys(full.latest).length, 256, 'the device itself has all 256');
  t.equal(full.latestOmitted, undefined);
});

t.test('a hello flood: repeating the same hello costs no write and no dashboard event', async (t) => {
  const hub = await startTestHub(t);
  const ws = await connect(t, hub, 'chatty');
  const dashboard = await dashboardSocket(t, hub);
  dashboard.send({ id: 1, op: 'subscribe', devices: ['chatty'], events: ['device'] });
  await dashboard.next((f) => f.id === 1);
  const metrics = Object.fromEntries(Object.keys(names('h', 0, MAX_METRICS_PER_SAMPLE)).map((n) => [n, { type: 'number', description: 'x'.repeat(200) }]));
  for (let i = 0; i < 50; i++) t.match(await send(ws, { type: 'hello', mid: i, kind: 'sensor', metrics }), { type: 'ack' });
  await send(ws, { type: 'hello', mid: 'changed', kind: 'sensor', fw: '2' });
  await dashboard.next((f) => f.event === 'device' && (f.device as DeviceView).capabilities?.fw === '2');
  const updates = dashboard.frames.filter((f) => f.event === 'device' && f.action === 'updated');
  t.equal(updates.length, 2, 'one event for the first hello and one for the change, none for the 49 repeats');
});
