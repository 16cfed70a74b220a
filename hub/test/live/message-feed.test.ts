/** The raw message feed: `message` events for the inspector, only to who subscribed them. */
import t from 'tap';
import { MESSAGE_BODY_MAX_CHARS } from '@iot-hub/protocol';
import { dashboardSocket, eventually } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';
import { provisionDevice } from '../commands/test-device.js';

t.test('a subscribed dashboard sees messages in and out of the device; others see none', async (t) => {
  const hub = await startTestHub(t);
  const device = await provisionDevice(t, hub, 'ws', 'inspected');
  const watcher = await dashboardSocket(t, hub);
  const bystander = await dashboardSocket(t, hub);
  watcher.send({ id: 1, op: 'subscribe', devices: [device.id], events: ['message'] });
  await watcher.next((f) => f.id === 1);
  // Every kind but `message` when none are named.
  bystander.send({ id: 1, op: 'subscribe', devices: '*' });
  await bystander.next((f) => f.id === 1);

  await device.connect();
  await device.hello();
  const hello = await watcher.next((f) => f.event === 'message' && f.direction === 'in' && f.type === 'hello');
  t.match(hello, { deviceId: device.id, truncated: false, ts: Number });
  t.match(JSON.parse(hello.body as string), { type: 'hello' });
  t.ok(await watcher.next((f) => f.event === 'message' && f.direction === 'out' && f.type === 'ack'), 'the ack is an out-message');

  const res = await hub.api('POST', `/api/devices/${device.id}/commands`, { name: 'identify' });
  t.equal(res.status, 202);
  const command = await watcher.next((f) => f.event === 'message' && f.direction === 'out' && f.type === 'command');
  t.match(JSON.parse(command.body as string), { type: 'command', name: 'identify' });

  await eventually(() => bystander.frames.some((f) => f.event === 'command'), 5000, 'the bystander gets command events');
  t.same(bystander.frames.filter((f) => f.event === 'message'), [], 'no message events without asking');

  watcher.send({ id: 2, op: 'unsubscribe', devices: [device.id], events: ['message'] });
  await watcher.next((f) => f.id === 2);
  const before = watcher.frames.length;
  await device.hello();
  await new Promise((r) => setTimeout(r, 100));
  t.same(watcher.frames.slice(before).filter((f) => f.event === 'message'), [], 'nothing after unsubscribe');
});

t.test('a long body is cut to the limit and marked truncated', async (t) => {
  const hub = await startTestHub(t);
  const device = await provisionDevice(t, hub, 'ws', 'chatty');
  const watcher = await dashboardSocket(t, hub);
  watcher.send({ id: 1, op: 'subscribe', devices: '*', events: ['message'] });
  await watcher.next((f) => f.id === 1);
  await device.connect();
  const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`command${i}`, { description: 'x'.repeat(200) }]));
  await device.hello(many);
  const hello = await watcher.next((f) => f.event === 'message' && f.type === 'hello');
  t.equal((hello.body as string).length, MESSAGE_BODY_MAX_CHARS);
  t.equal(hello.truncated, true);
});
