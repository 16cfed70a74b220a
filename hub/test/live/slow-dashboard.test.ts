/**
 * [G5]: a dashboard that stops reading gets telemetry dropped
 * and is told to resync; ingest and the other dashboards carry on.
 */
import t from 'tap';
import type { Socket } from 'node:net';
import { connectMqtt, dashboardSocket, eventually } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';

t.test('a stalled dashboard does not hold up ingest or a healthy dashboard', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('chatty');
  const healthy = await dashboardSocket(t, hub);
  const stalled = await dashboardSocket(t, hub);
  for (const d of [healthy, stalled]) {
    d.send({ id: 1, op: 'subscribe', devices: '*', events: ['telemetry'] });
    await d.next((f) => f.id === 1);
  }
  // The stalled client stops reading its socket: the hub's send buffer fills.
  const stalledSocket = (stalled.ws as unknown as { _socket: Socket })._socket;
  stalledSocket.pause();

  const device = await connectMqtt(t, hub, id, token);
  const messages = 120;
  const perMessage = 500;
  const start = Date.now() - messages * perMessage;
  for (let m = 0; m < messages; m++) {
    const samples = Array.from({ length: perMessage }, (_, i) => ({ ts: start + m * perMessage + i, metrics: { reading: m * perMessage + i, padding: 123456.789 } }));
    // Every PUBACK arrives: ingest is not held up by the stalled dashboard.
    await device.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ samples }), { qos: 1 });
  }
  const total = messages * perMessage;
  await eventually(() => healthy.frames.filter((f) => f.event === 'telemetry').length === total, 20_000, 'the healthy dashboard to get every event');
  t.equal(healthy.frames.filter((f) => f.event === 'overflow').length, 0, 'the healthy dashboard lost nothing');

  stalledSocket.resume();
  const overflow = await stalled.next((f) => f.event === 'overflow', 20_000);
  t.ok((overflow.dropped as number) > 0, `the stalled dashboard was told ${String(overflow.dropped)} events were dropped`);
  const received = stalled.frames.filter((f) => f.event === 'telemetry').length;
  t.equal(received + (overflow.dropped as number), total, 'every event was either delivered or counted as dropped');

  // Resubscribing resyncs it with a fresh snapshot.
  stalled.send({ id: 2, op: 'subscribe', devices: '*' });
  const snapshot = await stalled.next((f) => f.id === 2);
  t.match(snapshot, { status: 'ok', data: { devices: [{ id, latest: { reading: { value: total - 1 } } }] } });
});
