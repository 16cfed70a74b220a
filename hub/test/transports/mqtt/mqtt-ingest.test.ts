/**
 * End to end over MQTT with real clients: provision → connect → telemetry →
 * history API → live push to a dashboard socket; presence transitions.
 */
import t from 'tap';
import { connect as tcpConnect } from 'node:net';
import type { DeviceView, HistoryResponse } from '@iot-hub/protocol';
import { collectMessages, connectMqtt, dashboardSocket, eventually, mqttClosed } from '../../helpers/clients.js';
import { startTestHub } from '../../helpers/hub.js';

t.test('telemetry flows from an MQTT device to the store, the API and a dashboard', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('kitchen-temp', 'sensor');
  const dash = await dashboardSocket(t, hub);
  dash.send({ id: 1, op: 'subscribe', devices: '*' });
  const subscribed = await dash.next((f) => f.id === 1);
  t.equal(subscribed.status, 'ok');
  t.same((subscribed.data as { devices: DeviceView[] }).devices.map((d) => d.id), [id]);

  const device = await connectMqtt(t, hub, id, token);
  // Simple firmware: the channel names the type, no hello, no v, no type [FP-3.1].
  await device.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ metrics: { temperature: 21.5, heating: true } }), { qos: 1 });

  const live = await dash.next((f) => f.event === 'telemetry');
  t.equal(live.deviceId, id);
  t.same(live.metrics, { temperature: 21.5, heating: true });
  const presence = await dash.next((f) => f.event === 'presence');
  t.match(presence, { deviceId: id, presence: { status: 'online', reason: 'connected', transport: 'mqtt' } });

  // PUBACK came after the write: the value is readable at once.
  const view = (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
  t.equal(view.presence.status, 'online');
  t.equal(view.latest.temperature?.value, 21.5);
  t.equal(view.latest.heating?.value, true);
  t.ok(view.lastSeen !== null && view.lastSeen >= (live.ts as number));

  const history = (await hub.api('GET', `/api/devices/${id}/telemetry?metric=temperature`)).body as HistoryResponse;
  t.equal(history.series.length, 1);
  t.same(history.series[0]?.points.map((p) => [p.avg, p.count]), [[21.5, 1]]);
});

t.test('a batch of timestamped samples is stored with its own timestamps; hello declares capabilities', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('meter-1', 'meter');
  const device = await connectMqtt(t, hub, id, token);
  await device.publishAsync(
    `devices/${id}/hello`,
    JSON.stringify({ kind: 'meter', fw: '1.2.3', heartbeatSec: 30, metrics: { energy: { type: 'number', unit: 'kWh', min: 0 } }, commands: {} }),
    { qos: 1 },
  );
  const now = Date.now();
  const samples = [0, 1, 2].map((i) => ({ ts: now - 3000 + i * 1000, seq: i, metrics: { energy: 100 + i } }));
  await device.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ samples }), { qos: 1 });

  const view = (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
  t.same(view.capabilities, { kind: 'meter', fw: '1.2.3', heartbeatSec: 30, metrics: { energy: { type: 'number', unit: 'kWh', min: 0 } }, commands: {} });
  t.same(view.latest.energy, { value: 102, ts: now - 1000 });
  const history = (await hub.api('GET', `/api/devices/${id}/telemetry?from=${now - 10_000}&to=${now}`)).body as HistoryResponse;
  t.same(history.series[0]?.points.map((p) => [p.ts, p.avg]), samples.map((s) => [s.ts, s.metrics.energy]));
});

t.test('readings without ts arriving in the same millisecond are all kept', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('fast-1');
  const device = await connectMqtt(t, hub, id, token);
  await Promise.all(Array.from({ length: 50 }, (_, i) => device.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ metrics: { n: i } }), { qos: 1 })));
  const history = (await hub.api('GET', `/api/devices/${id}/telemetry?maxPoints=1000`)).body as HistoryResponse;
  const points = history.series[0]?.points ?? [];
  t.equal(points.length, 50, 'one stored point per reading');
  t.same(points.map((p) => p.avg).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
});

t.test('a resent message with the same seq is acknowledged and stored once', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('dup-1');
  const device = await connectMqtt(t, hub, id, token);
  for (const seq of [1, 2, 2, 3, 5]) {
    await device.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq, metrics: { v: seq } }), { qos: 1 });
  }
  const view = (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
  t.equal(view.stats.duplicates, 1);
  t.equal(view.stats.seqGaps, 1, 'seq 4 never arrived');
  const history = (await hub.api('GET', `/api/devices/${id}/telemetry`)).body as HistoryResponse;
  t.equal(history.series[0]?.points.length, 4);
});

t.test('presence: clean disconnect, last will, lost socket, replaced connection', async (t) => {
  const hub = await startTestHub(t);
  const a = await hub.provision('dev-a');

  const presence = async () => ((await hub.api('GET', `/api/devices/${a.id}`)).body as DeviceView).presence;
  t.match(await presence(), { status: 'offline', reason: 'never-connected' });

  const clean = await connectMqtt(t, hub, a.id, a.token);
  t.match(await presence(), { status: 'online', reason: 'connected', transport: 'mqtt' });
  await clean.endAsync();
  await eventually(async () => (await presence()).status === 'offline', 3000, 'offline after DISCONNECT');
  t.match(await presence(), { status: 'offline', reason: 'disconnected' });

  // Last will: the socket dies without DISCONNECT, the will is published.
  const willing = await connectMqtt(t, hub, a.id, a.token, {
    will: { topic: `devices/${a.id}/status`, payload: Buffer.from('{"status":"offline"}'), qos: 1, retain: true },
  });
  t.equal((await presence()).status, 'online');
  (willing as unknown as { stream: { destroy(): void } }).stream.destroy();
  await eventually(async () => (await presence()).status === 'offline', 3000, 'offline after socket loss');
  t.match(await presence(), { status: 'offline', reason: 'last-will' });

  // No will: an abrupt socket loss is connection-lost.
  const abrupt = await connectMqtt(t, hub, a.id, a.token);
  (abrupt as unknown as { stream: { destroy(): void } }).stream.destroy();
  await eventually(async () => (await presence()).status === 'offline', 3000, 'offline after socket destroy');
  t.match(await presence(), { status: 'offline', reason: 'connection-lost' });

  // A second connection with the same id replaces the first and stays online.
  const first = await connectMqtt(t, hub, a.id, a.token);
  const firstClosed = mqttClosed(first);
  await connectMqtt(t, hub, a.id, a.token);
  await firstClosed;
  await new Promise((r) => setTimeout(r, 100));
  t.match(await presence(), { status: 'online', reason: 'connected' });
});

t.test('a device silent past its declared heartbeat goes offline', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('sleepy');
  const device = await connectMqtt(t, hub, id, token, { keepalive: 0 });
  await device.publishAsync(`devices/${id}/hello`, JSON.stringify({ kind: 'sensor', heartbeatSec: 5 }), { qos: 1 });
  const closed = mqttClosed(device);
  // 2.5 × 5 s without a message: offline, and the connection is closed.
  const view = await eventually(
    async () => {
      const v = (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
      return v.presence.status === 'offline' ? v : null;
    },
    20_000,
    'heartbeat timeout',
  );
  t.equal(view.presence.reason, 'heartbeat-timeout');
  await closed;
});

t.test('a device gets nothing retained back on subscribing: not its status, not a reading published with retain', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('ret-1');
  const device = await connectMqtt(t, hub, id, token);
  await device.publishAsync(`devices/${id}/status`, '{"status":"online"}', { qos: 1, retain: true });
  await device.publishAsync(`devices/${id}/telemetry`, '{"metrics":{"x":1}}', { qos: 1, retain: true });
  await device.endAsync();
  const again = await connectMqtt(t, hub, id, token);
  const messages = collectMessages(again);
  await again.subscribeAsync(`devices/${id}/#`, { qos: 1 });
  await new Promise((r) => setTimeout(r, 200));
  // The hub's own desired-state message and pong arrive [FP-3.1, FP-5]; no device → hub message comes back, status included [FP-6].
  t.same(messages.map((m) => m.topic).filter((topic) => topic !== `devices/${id}/desired` && topic !== `devices/${id}/pong`), []);
});

t.test('the MQTT port speaks only MQTT: garbage closes that socket and nothing else', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('bystander');
  const bystander = await connectMqtt(t, hub, id, token);
  const socket = tcpConnect(hub.hub.mqttPort, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  await new Promise((r) => socket.once('close', r));
  await bystander.publishAsync(`devices/${id}/telemetry`, '{"metrics":{"x":1}}', { qos: 1 });
  t.equal(((await hub.api('GET', `/api/devices/${id}`)).body as DeviceView).latest.x?.value, 1);
});

t.test('a sample resent after a reconnect is still stored once; seq 0 starts a new count', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('resender');
  const first = await connectMqtt(t, hub, id, token);
  await first.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq: 0, metrics: { v: 0 } }), { qos: 1 });
  await first.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq: 1, metrics: { v: 1 } }), { qos: 1 });
  await first.endAsync();
  // The PUBACK of seq 1 was "lost": the device reconnects, says hello and resends it.
  const second = await connectMqtt(t, hub, id, token);
  await second.publishAsync(`devices/${id}/hello`, JSON.stringify({ kind: 'sensor' }), { qos: 1 });
  await second.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq: 1, metrics: { v: 1 } }), { qos: 1 });
  // Then it reboots and counts from 0 again: new samples, not duplicates.
  await second.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq: 0, metrics: { v: 10 } }), { qos: 1 });
  await second.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq: 1, metrics: { v: 11 } }), { qos: 1 });
  const view = (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
  t.equal(view.stats.duplicates, 1);
  const history = (await hub.api('GET', `/api/devices/${id}/telemetry`)).body as HistoryResponse;
  t.same(history.series[0]?.points.map((p) => p.avg), [0, 1, 10, 11]);
});

t.test('reordered seqs are not counted as lost', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('shuffler');
  const device = await connectMqtt(t, hub, id, token);
  for (const seq of [0, 2, 1, 4, 3, 7]) {
    await device.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq, metrics: { v: seq } }), { qos: 1 });
  }
  const view = (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
  t.equal(view.stats.seqGaps, 2, 'only 5 and 6 are missing');
  t.equal(view.stats.duplicates, 0);
});
