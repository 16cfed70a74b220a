/**
 * The per-device message rate [FP-8 rate_limited]: a device over its rate
 * is slowed down, not robbed. Acknowledged messages (MQTT QoS 1, WebSocket
 * `mid`) wait for their turn while the hub stops reading that socket, so
 * nothing is lost; fire-and-forget ones over the rate are dropped with
 * `rate_limited`. Well-behaved devices beside a flooder lose nothing.
 */
import t from 'tap';
import type { DeviceView, HistoryResponse } from '@iot-hub/protocol';
import { collectMessages, connectMqtt, deviceSocket, eventually } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

/** Small numbers keep the test short: 20 messages/s, 10 at once. */
const LIMITS = { deviceRate: 20, deviceBurst: 10 };

async function metric(hub: TestHub, name: string): Promise<number> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

/** The stored values of metric `v` for a device, in stored order. */
async function storedValues(hub: TestHub, id: string): Promise<number[]> {
  const history = (await hub.api('GET', `/api/devices/${id}/telemetry?metric=v&maxPoints=10000&from=0`)).body as HistoryResponse;
  return (history.series[0]?.points ?? []).flatMap((p) => Array<number>(p.count).fill(p.avg));
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

t.test('a QoS 1 flooder is throttled and loses nothing; five devices beside it lose nothing either', async (t) => {
  const hub = await startTestHub(t, LIMITS);
  const flooder = await hub.provision('flooder');
  const normal = await Promise.all(range(5).map((i) => hub.provision(`normal-${i}`)));
  const flooderClient = await connectMqtt(t, hub, flooder.id, flooder.token);
  const flooderErrors = collectMessages(flooderClient);
  await flooderClient.subscribeAsync(`devices/${flooder.id}/errors`, { qos: 0 });
  const normalClients = await Promise.all(normal.map((d) => connectMqtt(t, hub, d.id, d.token)));

  const FLOOD = 100;
  const STEADY = 20;
  // All 100 at once: 5× the burst, 5 s worth of the rate.
  const flood = Promise.all(range(FLOOD).map((seq) => flooderClient.publishAsync(`devices/${flooder.id}/telemetry`, JSON.stringify({ seq, metrics: { v: seq } }), { qos: 1 })));
  // Meanwhile each normal device sends at half the rate, every message acknowledged before the next.
  const steady = Promise.all(
    normalClients.map(async (client, i) => {
      for (const seq of range(STEADY)) {
        await client.publishAsync(`devices/${normal[i]?.id}/telemetry`, JSON.stringify({ seq, metrics: { v: seq } }), { qos: 1 });
        await new Promise((r) => setTimeout(r, 100));
      }
    }),
  );
  await Promise.all([flood, steady]);

  for (const d of normal) {
    t.same(await storedValues(hub, d.id), range(STEADY), `${d.id}: every seq stored exactly once`);
    t.match(((await hub.api('GET', `/api/devices/${d.id}`)).body as DeviceView).stats, { duplicates: 0, seqGaps: 0, errors: 0 });
  }
  t.same((await storedValues(hub, flooder.id)).sort((a, b) => a - b), range(FLOOD), 'the flooder lost nothing: every PUBACK meant stored');
  const delayed = await metric(hub, 'iot_hub_device_rate_limited_total{action="delayed"}');
  t.ok(delayed >= FLOOD - LIMITS.deviceBurst - 10, `the flood was held back (${delayed} delayed)`);
  t.equal(await metric(hub, 'iot_hub_device_rate_limited_total{action="dropped"}'), 0, 'nothing dropped');
  t.notOk(flooderErrors.some((m) => m.payload.error === 'rate_limited'), 'QoS 1 is slowed, not refused');
  t.equal(flooderClient.connected, true, 'and stays connected');
});

t.test('QoS 0 over the rate is dropped with rate_limited, told once a second; the connection stays', async (t) => {
  const hub = await startTestHub(t, LIMITS);
  const d = await hub.provision('qos0-flooder');
  const client = await connectMqtt(t, hub, d.id, d.token);
  const inbox = collectMessages(client);
  await client.subscribeAsync(`devices/${d.id}/errors`, { qos: 0 });
  const FLOOD = 100;
  for (const seq of range(FLOOD)) client.publish(`devices/${d.id}/telemetry`, JSON.stringify({ seq, metrics: { v: seq } }), { qos: 0 });
  const rateErrors = () => inbox.filter((m) => m.payload.error === 'rate_limited');
  const error = await eventually(() => rateErrors()[0], 3000, 'a rate_limited error');
  t.match(error.payload, { v: 1, type: 'error', code: 429, error: 'rate_limited', message: /too many messages/, topic: `devices/${d.id}/telemetry` });

  const dropped = await eventually(async () => {
    const n = await metric(hub, 'iot_hub_device_rate_limited_total{action="dropped"}');
    const stored = (await storedValues(hub, d.id)).length;
    return n + stored === FLOOD ? { n, stored } : null;
  }, 5000, 'every message stored or dropped');
  t.ok(dropped.stored >= LIMITS.deviceBurst && dropped.stored < FLOOD, `the burst got through (${dropped.stored} stored, ${dropped.n} dropped)`);
  t.ok(rateErrors().length <= 2, `told at most once a second (${rateErrors().length})`);
  t.equal(client.connected, true, 'still connected');

  await new Promise((r) => setTimeout(r, 1000 / LIMITS.deviceRate + 50));
  await client.publishAsync(`devices/${d.id}/telemetry`, JSON.stringify({ seq: 1000, metrics: { v: 1000 } }), { qos: 1 });
  t.ok((await storedValues(hub, d.id)).includes(1000), 'under the rate again, messages are taken');
});

t.test('over WebSocket, messages with a mid wait for their ack; messages without one are dropped', async (t) => {
  const hub = await startTestHub(t, LIMITS);
  const d = await hub.provision('ws-flooder');
  const ws = await deviceSocket(t, hub, d.id, d.token);
  await ws.next((f) => f.type === 'welcome');
  const FLOOD = 60;
  for (const seq of range(FLOOD)) ws.send({ type: 'telemetry', mid: seq, seq, metrics: { v: seq } });
  await eventually(() => ws.frames.filter((f) => f.type === 'ack').length === FLOOD, 10_000, 'every ack');
  t.same((await storedValues(hub, d.id)).sort((a, b) => a - b), range(FLOOD), 'all stored');
  t.notOk(ws.frames.some((f) => f.type === 'error'), 'no errors');
  t.ok((await metric(hub, 'iot_hub_device_rate_limited_total{action="delayed"}')) > 0, 'held back');

  for (const seq of range(FLOOD)) ws.send({ type: 'telemetry', seq: FLOOD + seq, metrics: { v: FLOOD + seq } });
  t.match(await ws.next((f) => f.type === 'error'), { code: 429, error: 'rate_limited' });
  t.ok((await metric(hub, 'iot_hub_device_rate_limited_total{action="dropped"}')) > 0, 'dropped and counted');
});

t.test('--device-rate 0 turns the limit off', async (t) => {
  const hub = await startTestHub(t, { deviceRate: 0, deviceBurst: 1 });
  const d = await hub.provision('unlimited');
  const client = await connectMqtt(t, hub, d.id, d.token);
  await Promise.all(range(200).map((seq) => client.publishAsync(`devices/${d.id}/telemetry`, JSON.stringify({ seq, metrics: { v: seq } }), { qos: 1 })));
  t.equal(await metric(hub, 'iot_hub_device_rate_limited_total{action="delayed"}'), 0);
  t.equal((await storedValues(hub, d.id)).length, 200);
});

t.test('messages still waiting when the connection drops are not stored, not counted against the device, and leave nothing behind', async (t) => {
  const hub = await startTestHub(t, LIMITS);
  const d = await hub.provision('dropper');
  const first = await connectMqtt(t, hub, d.id, d.token);
  for (const seq of range(100)) void first.publishAsync(`devices/${d.id}/telemetry`, JSON.stringify({ seq, metrics: { v: seq } }), { qos: 1 }).catch(() => undefined);
  await eventually(async () => (await metric(hub, 'iot_hub_device_rate_limited_total{action="delayed"}')) > 50, 3000, 'the flood waiting');
  (first as unknown as { stream: { destroy(): void } }).stream.destroy();
  await eventually(async () => ((await hub.api('GET', `/api/devices/${d.id}`)).body as DeviceView).presence.status === 'offline', 3000, 'offline');
  const stored = (await storedValues(hub, d.id)).length;
  t.ok(stored < 100, `only what got its turn was stored (${stored})`);

  // Their tokens came back: once the burst has refilled (0.5 s; 5 s had they not), a fresh burst of QoS 0 is taken whole.
  const again = await connectMqtt(t, hub, d.id, d.token);
  await new Promise((r) => setTimeout(r, (1000 * LIMITS.deviceBurst) / LIMITS.deviceRate + 100));
  for (const seq of range(LIMITS.deviceBurst - 1)) again.publish(`devices/${d.id}/telemetry`, JSON.stringify({ seq: 1000 + seq, metrics: { v: 1000 + seq } }), { qos: 0 });
  await again.publishAsync(`devices/${d.id}/telemetry`, JSON.stringify({ seq: 2000, metrics: { v: 2000 } }), { qos: 1 });
  t.equal(await metric(hub, 'iot_hub_device_rate_limited_total{action="dropped"}'), 0, 'no drops: the bucket was not left in debt');
  t.equal((await storedValues(hub, d.id)).length, stored + LIMITS.deviceBurst);
});
