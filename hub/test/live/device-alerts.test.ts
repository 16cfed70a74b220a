/** A device's new protocol errors reach dashboards as a device update (the overview's alerts), throttled. */
import t from 'tap';
import { connectMqtt, dashboardSocket } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';

t.test('a protocol error pushes the device with its error count, at most every few seconds', async (t) => {
  const hub = await startTestHub(t);
  const device = await hub.provision('faulty');
  const dash = await dashboardSocket(t, hub);
  dash.send({ id: 1, op: 'subscribe', devices: '*', events: ['device'] });
  await dash.next((f) => f.id === 1);
  const client = await connectMqtt(t, hub, device.id, device.token);
  await client.publishAsync(`devices/${device.id}/telemetry`, '{"metrics": oops', { qos: 0 });
  const update = await dash.next((f) => f.event === 'device' && f.action === 'updated');
  t.match(update, { device: { id: device.id, stats: { errors: 1 } } });
  await client.publishAsync(`devices/${device.id}/telemetry`, '{"metrics": oops', { qos: 0 });
  await new Promise((r) => setTimeout(r, 200));
  t.equal(dash.frames.filter((f) => f.event === 'device').length, 1, 'the second error within the interval is not pushed');
});
