/**
 * Issue 20, test 3 and the cross-node paths of desired state and tokens,
 * on three real nodes: the same Idempotency-Key posted to all three at once
 * makes one command; concurrent `ifVersion` PATCHes on different nodes:
 * exactly one 200; desired state set on one node reaches the device on
 * another; a token revoked on a third cuts the device off.
 */
import mqtt from 'mqtt';
import t from 'tap';
import type { CommandView, DeviceStateView } from '@iot-hub/protocol';
import { eventually } from '../helpers/clients.js';
import { clusterDevice, startTestCluster } from '../helpers/cluster.js';

t.test('desired state set on node 2 reaches a device held by node 1; a token revoked on node 3 cuts it off on node 1', async (t) => {
  const cluster = await startTestCluster(t, { withHaproxy: false });
  if (!cluster) return;
  const { token } = await cluster.provision('st-1', 'thermostat');
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${cluster.nodes[0]!.mqttPort}`, { clientId: 'st-1', username: 'st-1', password: token, reconnectPeriod: 0 });
  t.teardown(() => client.endAsync(true));
  const desired: Record<string, unknown>[] = [];
  client.on('message', (topic, payload) => {
    if (topic === 'devices/st-1/desired') desired.push(JSON.parse(payload.toString()) as Record<string, unknown>);
  });
  await client.subscribeAsync('devices/st-1/#', { qos: 1 });
  await eventually(() => desired.length === 1, 5_000, 'the desired state sent on connect');
  const patched = await cluster.api('PATCH', '/api/devices/st-1/state/desired', { state: { target: 21.5 } }, 1);
  t.equal(patched.status, 200, 'node 2 stores the change');
  const sent = await eventually(() => desired.find((d) => (d.state as Record<string, unknown>).target === 21.5), 10_000, 'node 1 to send the new desired state');
  t.match(sent, { version: 1, delta: { target: 21.5 } });

  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  t.equal((await cluster.api('POST', '/api/devices/st-1/revoke', undefined, 2)).status, 200, 'node 3 revokes the token');
  await closed;
  t.pass('node 1 closed the connection of the revoked device');
  await t.rejects(mqtt.connectAsync(`mqtt://127.0.0.1:${cluster.nodes[0]!.mqttPort}`, { clientId: 'st-1', username: 'st-1', password: token, reconnectPeriod: 0 }), { code: 4 }, 'and refuses the old token');
});

t.test('one Idempotency-Key posted to three nodes at once makes one command; concurrent ifVersion PATCHes: exactly one 200', async (t) => {
  const cluster = await startTestCluster(t, { withHaproxy: false });
  if (!cluster) return;
  // Commands need the device's declared list (hello) first.
  await clusterDevice(t, cluster, 0, 'idem');
  for (let round = 0; round < 5; round++) {
    const key = `key-${round}`;
    const answers = await Promise.all([0, 1, 2].map((node) => cluster.api('POST', '/api/devices/idem/commands', { name: 'identify' }, node, { 'idempotency-key': key })));
    const ids = new Set(answers.map((a) => (a.body as CommandView).id));
    t.equal(ids.size, 1, `round ${round}: one command (${answers.map((a) => a.status).join(', ')})`);
    t.equal(answers.filter((a) => a.status === 202).length, 1, `round ${round}: created once`);
  }
  const list = await cluster.api('GET', '/api/devices/idem/commands', undefined, 2);
  t.equal((list.body as { commands: CommandView[] }).commands.length, 5, 'five commands in all');

  for (let round = 0; round < 5; round++) {
    const current = (await cluster.api('GET', '/api/devices/idem/state', undefined, 0)).body as DeviceStateView;
    const answers = await Promise.all([0, 1, 2].map((node) => cluster.api('PATCH', '/api/devices/idem/state/desired', { state: { target: 20 + node + round * 3 }, ifVersion: current.version }, node)));
    const statuses = answers.map((a) => a.status).sort();
    t.same(statuses, [200, 409, 409], `round ${round}: exactly one PATCH applies`);
  }
});
