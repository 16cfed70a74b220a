/**
 * The hub's clock for MQTT devices [FP-5]: a `pong` on `devices/{id}/pong`
 * once a subscription covering it is granted, and in answer to every `ping`.
 */
import t from 'tap';
import { collectMessages, connectMqtt, eventually } from '../../helpers/clients.js';
import { startTestHub } from '../../helpers/hub.js';

/** ts within the test's own clock readings around the exchange. */
function isPongAround(payload: Record<string, unknown>, before: number, after: number): boolean {
  return Object.keys(payload).length === 3 && payload.v === 1 && payload.type === 'pong' && typeof payload.ts === 'number' && payload.ts >= before && payload.ts <= after;
}

for (const filter of ['#', '+', 'pong']) {
  t.test(`a subscription to devices/{id}/${filter} gets a pong at once, and one per ping`, async (t) => {
    const hub = await startTestHub(t);
    const id = `clock-${filter === '#' ? 'all' : filter === '+' ? 'plus' : 'pong'}`;
    const { token } = await hub.provision(id);
    const client = await connectMqtt(t, hub, id, token);
    const messages = collectMessages(client);
    const before = Date.now();
    const granted = await client.subscribeAsync(`devices/${id}/${filter}`, { qos: 1 });
    t.same(
      granted.map((g) => g.qos),
      [1],
      'the filter is granted',
    );
    const first = await eventually(() => messages.find((m) => m.topic === `devices/${id}/pong`), 5000, 'the first pong');
    t.ok(isPongAround(first.payload, before, Date.now()), `exactly {"v":1,"type":"pong","ts":<hub clock>}: ${JSON.stringify(first.payload)}`);

    const beforePing = Date.now();
    client.publish(`devices/${id}/ping`, '{}', { qos: 0 });
    const second = await eventually(() => messages.filter((m) => m.topic === `devices/${id}/pong`)[1], 5000, 'the pong answering the ping');
    t.ok(isPongAround(second.payload, beforePing, Date.now()), JSON.stringify(second.payload));
    t.same(
      messages.filter((m) => !m.topic.endsWith('/pong') && !m.topic.endsWith('/status') && !m.topic.endsWith('/desired')),
      [],
      'nothing but pongs (and what the hub sends every device)',
    );
    await client.endAsync();
  });
}

t.test('a device subscribed only to commands gets no pong', async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('quiet');
  const client = await connectMqtt(t, hub, 'quiet', token);
  const messages = collectMessages(client);
  await client.subscribeAsync('devices/quiet/commands', { qos: 1 });
  // At QoS 1 the PUBACK follows any pong the hub would send for this ping, on the same connection.
  await client.publishAsync('devices/quiet/ping', '{}', { qos: 1 });
  t.same(messages, []);
  await client.endAsync();
});
