/**
 * The other side of fencing (docs/design.md: "a node cut off fences itself, unless
 * every node has lost PostgreSQL"): when PostgreSQL is down for every node,
 * none can renew its lease, each still hears the others' heartbeats on the
 * bus, and so all of them hold: no node fences, no device connection is
 * dropped, and the nodes are healthy again once PostgreSQL is back.
 */
import mqtt, { type MqttClient } from 'mqtt';
import t from 'tap';
import { eventually } from '../helpers/clients.js';
import { startTestCluster } from '../helpers/cluster.js';

const DEVICES = 6;
const LEASE_SEC = 4;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('PostgreSQL down for every node: every node holds its devices, none fences, all healthy after', async (t) => {
  const cluster = await startTestCluster(t, { leaseSec: LEASE_SEC, withHaproxy: false });
  if (!cluster) return;
  const devices = await Promise.all(Array.from({ length: DEVICES }, (_, i) => cluster.provision(`hold-${i}`)));
  const clients: MqttClient[] = [];
  t.teardown(() => Promise.all(clients.map((c) => c.endAsync(true))));
  for (const [i, d] of devices.entries()) {
    clients.push(await mqtt.connectAsync(`mqtt://127.0.0.1:${cluster.nodes[i % 3]!.mqttPort}`, { clientId: d.id, username: d.id, password: d.token, reconnectPeriod: 0 }));
  }
  let closed = 0;
  for (const c of clients) c.on('close', () => (closed += 1));

  const states: string[][] = [];
  let sampling = true;
  t.teardown(() => {
    sampling = false;
  });
  const sampler = (async () => {
    while (sampling) {
      const healths = await Promise.all(cluster.nodes.map((n) => n.health()));
      states.push(healths.map((h) => (h.body.cluster as { state: string }).state));
      await sleep(100);
    }
  })();

  await cluster.pg.shutdown();
  // Past the lease TTL: every node has long given up renewing.
  await eventually(() => states.at(-1)?.every((s) => s === 'holding'), LEASE_SEC * 1000 + 3_000, 'every node to hold');
  await sleep(LEASE_SEC * 1000);
  t.same(states.at(-1), ['holding', 'holding', 'holding'], 'every node still holds a lease TTL later');
  await cluster.pg.restart();
  await eventually(() => states.at(-1)?.every((s) => s === 'healthy'), 20_000, 'every node to be healthy again');
  sampling = false;
  await sampler;

  t.equal(states.flat().filter((s) => s === 'fenced').length, 0, `no node fenced in ${states.length} samples`);
  t.equal(closed, 0, 'no device connection was dropped');
  const healths = await Promise.all(cluster.nodes.map((n) => n.health()));
  t.same(
    healths.map((h) => (h.body.connections as { mqtt: number }).mqtt),
    [2, 2, 2],
    'each node still holds its devices',
  );
});
