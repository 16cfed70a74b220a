/**
 * A dashboard that falls behind keeps the newest telemetry of every device
 * (coalesced per device), then is told how many events it missed; a
 * healthy dashboard beside it gets every event, in order.
 */
import t from 'tap';
import type { Socket } from 'node:net';
import { connectMqtt, dashboardSocket, eventually } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';

t.test('a stalled dashboard gets the newest value of each device after it catches up, then overflow', async (t) => {
  const hub = await startTestHub(t);
  const deviceCount = 4;
  const devices = [];
  for (let d = 0; d < deviceCount; d++) devices.push(await hub.provision(`dev-${d}`));
  const healthy = await dashboardSocket(t, hub);
  const stalled = await dashboardSocket(t, hub);
  for (const dash of [healthy, stalled]) {
    dash.send({ id: 1, op: 'subscribe', devices: '*', events: ['telemetry'] });
    await dash.next((f) => f.id === 1);
  }
  const stalledSocket = (stalled.ws as unknown as { _socket: Socket })._socket;
  stalledSocket.pause();

  const clients = await Promise.all(devices.map((d) => connectMqtt(t, hub, d.id, d.token)));
  const messages = 30;
  const perMessage = 500;
  const start = Date.now() - messages * perMessage;
  for (let m = 0; m < messages; m++) {
    await Promise.all(
      devices.map((d, i) => {
        const samples = Array.from({ length: perMessage }, (_, k) => ({ ts: start + m * perMessage + k, metrics: { reading: m * perMessage + k, padding: 123456.789 } }));
        return (clients[i] as (typeof clients)[number]).publishAsync(`devices/${d.id}/telemetry`, JSON.stringify({ samples }), { qos: 1 });
      }),
    );
  }
  const perDevice = messages * perMessage;
  const total = deviceCount * perDevice;
  await eventually(() => healthy.frames.filter((f) => f.event === 'telemetry').length === total, 30_000, 'the healthy dashboard to get every event');
  t.equal(healthy.frames.filter((f) => f.event === 'overflow').length, 0, 'the healthy dashboard lost nothing');
  for (const d of devices) {
    const readings = healthy.frames.filter((f) => f.event === 'telemetry' && f.deviceId === d.id).map((f) => (f.metrics as { reading: number }).reading);
    t.same(readings, Array.from({ length: perDevice }, (_, k) => k), `the healthy dashboard got ${d.id}'s events in order`);
  }

  stalledSocket.resume();
  // The kernel may take more while the socket is paused, so the hub can catch up (and notify) more than once.
  const telemetry = () => stalled.frames.filter((f) => f.event === 'telemetry');
  const dropped = () => stalled.frames.filter((f) => f.event === 'overflow').reduce((n, f) => n + (f.dropped as number), 0);
  await eventually(() => telemetry().length + dropped() === total, 30_000, 'every event to be delivered or counted as dropped');
  t.ok(dropped() > 0, `the stalled dashboard was told ${dropped()} events were dropped`);
  t.equal(stalled.frames.at(-1)?.event, 'overflow', 'the last frame is the notice, sent once it caught up');
  for (const d of devices) {
    const readings = telemetry()
      .filter((f) => f.deviceId === d.id)
      .map((f) => (f.metrics as { reading: number }).reading);
    t.equal(readings.at(-1), perDevice - 1, `the newest value of ${d.id} arrived, without a resync`);
    t.ok(
      readings.every((r, i) => i === 0 || r > (readings[i - 1] as number)),
      `${d.id}'s values never went back in time (${readings.length} of ${perDevice} delivered)`,
    );
  }
});
