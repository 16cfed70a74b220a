/**
 * What waits for a device when it connects arrives in a fixed order: the
 * desired state first, then the commands that waited, oldest first [FP-3.1,
 * FP-3.2]. On MQTT each follows the subscription that covers its channel, so
 * with separate SUBSCRIBE packets the order is the order of subscribing.
 */
import t, { type Test } from 'tap';
import type { MqttClient } from 'mqtt';
import { collectMessages, connectMqtt, deviceSocket, eventually } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

/** A device that declared `identify`, then went away; a desired value and two commands wait for it. */
async function waitingDevice(t: Test): Promise<{ hub: TestHub; id: string; token: string }> {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('waiting-1', 'thermostat');
  const first = await connectMqtt(t, hub, id, token);
  await first.publishAsync(`devices/${id}/hello`, JSON.stringify({ kind: 'thermostat', commands: { identify: {} } }), { qos: 1 });
  await first.endAsync();
  await eventually(async () => ((await hub.api('GET', `/api/devices/${id}`)).body as { presence: { status: string } }).presence.status === 'offline', 3000, 'offline');
  t.equal((await hub.api('PATCH', `/api/devices/${id}/state/desired`, { state: { mode: 'heat' } })).status, 200);
  for (const n of [1, 2]) {
    const res = await hub.api('POST', `/api/devices/${id}/commands`, { name: 'identify', params: {} }, { 'idempotency-key': `order-${n}` });
    t.equal(res.status, 202, `command ${n} queued`);
  }
  return { hub, id, token };
}

/** Hub → device messages on `desired` and `commands`, as `desired` / `command` in arrival order. */
function controlOrder(messages: { topic: string; payload: Record<string, unknown> }[], id: string): string[] {
  return messages.filter((m) => m.topic === `devices/${id}/desired` || m.topic === `devices/${id}/commands`).map((m) => m.payload.type as string);
}

t.test('WS: welcome, then desired, then the waiting commands', async (t) => {
  const { hub, id, token } = await waitingDevice(t);
  const socket = await deviceSocket(t, hub, id, token);
  await eventually(() => socket.frames.filter((f) => f.type === 'command').length === 2, 5000, 'both commands');
  t.same(socket.frames.map((f) => f.type), ['welcome', 'desired', 'command', 'command']);
  t.match(socket.frames[1], { type: 'desired', state: { mode: 'heat' } });
});

const subscriptions: { name: string; subscribe: (client: MqttClient, id: string) => Promise<unknown>; order: string[] }[] = [
  { name: 'devices/{id}/#', subscribe: (c, id) => c.subscribeAsync(`devices/${id}/#`, { qos: 1 }), order: ['desired', 'command', 'command'] },
  { name: 'devices/{id}/+', subscribe: (c, id) => c.subscribeAsync(`devices/${id}/+`, { qos: 1 }), order: ['desired', 'command', 'command'] },
  {
    name: 'commands and desired in one SUBSCRIBE',
    subscribe: (c, id) => c.subscribeAsync([`devices/${id}/commands`, `devices/${id}/desired`], { qos: 1 }),
    order: ['desired', 'command', 'command'],
  },
  {
    name: 'desired, then commands in a second SUBSCRIBE',
    subscribe: async (c, id) => {
      await c.subscribeAsync(`devices/${id}/desired`, { qos: 1 });
      await c.subscribeAsync(`devices/${id}/commands`, { qos: 1 });
    },
    order: ['desired', 'command', 'command'],
  },
  {
    name: 'commands, then desired in a second SUBSCRIBE (the order of subscribing)',
    subscribe: async (c, id) => {
      await c.subscribeAsync(`devices/${id}/commands`, { qos: 1 });
      await c.subscribeAsync(`devices/${id}/desired`, { qos: 1 });
    },
    order: ['command', 'command', 'desired'],
  },
];

for (const s of subscriptions) {
  t.test(`MQTT ${s.name}: ${s.order.join(', ')}`, async (t) => {
    const { hub, id, token } = await waitingDevice(t);
    const client = await connectMqtt(t, hub, id, token);
    const messages = collectMessages(client);
    await s.subscribe(client, id);
    await eventually(() => controlOrder(messages, id).length === 3, 5000, 'desired and both commands');
    t.same(controlOrder(messages, id), s.order);
  });
}
