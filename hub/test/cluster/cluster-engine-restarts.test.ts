/**
 * Issue 20, test 6: Redis killed and restarted, then PostgreSQL restarted,
 * under load on three nodes. Devices (firmware-like, on every node) send QoS
 * 1 telemetry throughout.
 *
 * - Redis away: ingest goes on; commands posted to one node for devices on
 *   the others still arrive (each node's reconciler finds them in PostgreSQL).
 * - PostgreSQL away: telemetry is still acknowledged on every node (local
 *   buffer), API writes answer 503 storage_unavailable on every node, the
 *   nodes hold their devices (`holding`, never `fenced`: the default lease of
 *   the harness, 4 s, is shorter than the outage), no device is marked offline.
 * - Both back: commands work on every node, every device is online, no device
 *   connection was dropped, every acknowledged reading is in InfluxDB once.
 */
import t, { type Test } from 'tap';
import type { CommandView } from '@iot-hub/protocol';
import { DASHBOARD_SUBPROTOCOL } from '@iot-hub/protocol';
import { eventually, jsonSocket } from '../helpers/clients.js';
import { CLUSTER_ADMIN_TOKEN, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { compareSeqs, firmwareDevice, sleep, storedSeqs, type FirmwareDevice } from '../helpers/firmware-device.js';

const DEVICES_PER_NODE = 10;
const TELEMETRY_PERIOD_MS = 250;
/** How long PostgreSQL stays away: longer than the lease (4 s), so a node that fenced would show it. */
const PG_OUTAGE_MS = 6_000;

interface NodeHealth {
  status: string;
  cluster: { state: string; bus: boolean };
}

async function healths(cluster: TestCluster): Promise<NodeHealth[]> {
  return (await Promise.all(cluster.nodes.map((n) => n.health()))).map((h) => h.body as unknown as NodeHealth);
}

/** Posts one command per device through `via`; resolves the created commands. */
async function postCommands(t: Test, cluster: TestCluster, devices: readonly FirmwareDevice[], via: number): Promise<CommandView[]> {
  const created: CommandView[] = [];
  for (const d of devices) {
    const res = await cluster.api('POST', `/api/devices/${d.id}/commands`, { name: 'identify' }, via);
    t.equal(res.status, 202, `${d.id}: command accepted by node ${via + 1}`);
    created.push(res.body as CommandView);
  }
  return created;
}

function allSucceeded(cluster: TestCluster, commands: readonly CommandView[], what: string, timeoutMs = 15_000): Promise<CommandView[]> {
  return eventually(async () => {
    const views = await Promise.all(commands.map(async (c) => (await cluster.api('GET', `/api/commands/${c.id}`, undefined, 0)).body as CommandView));
    return views.every((v) => v.state === 'succeeded') ? views : null;
  }, timeoutMs, what);
}

t.test('Redis killed and restarted, then PostgreSQL restarted, under load: ingest never stops, commands arrive, no false offline, 503 while PostgreSQL is away', async (t) => {
  const cluster = await startTestCluster(t, { withHaproxy: false });
  if (!cluster) return;
  const nodeCount = cluster.nodes.length;
  const ids = Array.from({ length: DEVICES_PER_NODE * nodeCount }, (_, i) => `er-${String(i).padStart(2, '0')}`);
  const tokens = await Promise.all(ids.map((id) => cluster.provision(id, 'thermostat')));
  // Connects to node 2 while Redis is down: the other nodes learn it is online only by a resync from PostgreSQL.
  const lateToken = await cluster.provision('er-late', 'thermostat');
  // Device i is connected straight to node i % 3, so the test knows where each is held.
  const devices = await Promise.all(tokens.map((d, i) => firmwareDevice(t, { url: `mqtt://127.0.0.1:${cluster.nodes[i % nodeCount]!.mqttPort}`, id: d.id, token: d.token })));
  const onNode = (n: number) => devices.filter((_, i) => i % nodeCount === n);
  const dash = await jsonSocket(t, `ws://127.0.0.1:${cluster.nodes[0]!.httpPort}/ws/dashboard`, { protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${CLUSTER_ADMIN_TOKEN}`] });
  dash.send({ id: 1, op: 'subscribe', devices: '*', events: ['presence'] });
  await dash.next((f) => f.id === 1);
  for (const d of devices) d.startTelemetry(TELEMETRY_PERIOD_MS);
  // Every node's cluster state, sampled all along.
  const statesSeen = cluster.nodes.map(() => new Set<string>());
  const sampler = setInterval(() => {
    void healths(cluster).then(
      (hs) => hs.forEach((h, i) => statesSeen[i]!.add(h.cluster.state)),
      () => undefined,
    );
  }, 200);
  t.teardown(() => clearInterval(sampler));
  await sleep(1_000);

  // --- Redis away: the bus is down, commands fall back to the reconcilers.
  await cluster.redis.kill();
  await eventually(async () => ((await healths(cluster)).every((h) => !h.cluster.bus) ? true : null), 10_000, 'every node to see the bus down');
  const acksAtRedisDown = devices.map((d) => d.acked.length);
  const late = await firmwareDevice(t, { url: `mqtt://127.0.0.1:${cluster.nodes[1]!.mqttPort}`, id: 'er-late', token: lateToken.token });
  const duringRedis = await postCommands(t, cluster, [...onNode(1), ...onNode(2)], 0);
  await allSucceeded(cluster, duringRedis, 'commands for devices on nodes 2 and 3 to succeed without the bus');
  t.pass(`${duringRedis.length} commands posted to node 1 for devices on nodes 2 and 3 succeeded while Redis was down`);
  t.same(devices.filter((d, i) => d.acked.length <= acksAtRedisDown[i]!).map((d) => d.id), [], 'every device had readings acknowledged while Redis was down');
  t.same((await healths(cluster)).map((h) => h.cluster.state), ['healthy', 'healthy', 'healthy'], 'PostgreSQL up: every node keeps its lease without the bus');
  await cluster.redis.restart();
  await eventually(async () => ((await healths(cluster)).every((h) => h.cluster.bus) ? true : null), 15_000, 'every node to reconnect to the bus');

  // --- PostgreSQL away (a fast shutdown: connections are closed).
  const acksAtPgDown = devices.map((d) => d.acked.length);
  const pgDownAt = Date.now();
  await cluster.pg.shutdown();
  for (const [i] of cluster.nodes.entries()) {
    const res = await cluster.api('POST', `/api/devices/${onNode(i)[0]!.id}/commands`, { name: 'identify' }, i);
    t.match(res, { status: 503, body: { error: 'storage_unavailable' } }, `node ${i + 1}: an API write answers 503 storage_unavailable`);
  }
  await eventually(async () => ((await healths(cluster)).every((h) => h.cluster.state === 'holding') ? true : null), 10_000, 'every node to hold its devices');
  await sleep(Math.max(0, PG_OUTAGE_MS - (Date.now() - pgDownAt)));
  const acksDuringPg = devices.map((d, i) => d.acked.length - acksAtPgDown[i]!);
  for (let n = 0; n < nodeCount; n++) {
    const slow = onNode(n).filter((d) => acksDuringPg[devices.indexOf(d)]! < (PG_OUTAGE_MS / TELEMETRY_PERIOD_MS) * 0.5);
    t.same(slow.map((d) => d.id), [], `node ${n + 1}: every device's readings were acknowledged while PostgreSQL was down`);
  }
  const patch = await cluster.api('PATCH', `/api/devices/${devices[0]!.id}/state/desired`, { state: { target: 21 } }, 1);
  t.match(patch, { status: 503, body: { error: 'storage_unavailable' } }, 'a desired-state PATCH answers 503 storage_unavailable');
  await cluster.pg.restart();
  await eventually(async () => ((await healths(cluster)).every((h) => h.cluster.state === 'healthy') ? true : null), 15_000, 'every node healthy again');

  // --- Both back: commands through every node to devices on another.
  const after: CommandView[] = [];
  for (let n = 0; n < nodeCount; n++) after.push(...(await postCommands(t, cluster, onNode((n + 1) % nodeCount).slice(0, 3), n)));
  await allSucceeded(cluster, after, 'commands after the restarts to succeed');
  t.pass(`${after.length} commands through every node succeeded after the restarts`);
  await sleep(500);
  clearInterval(sampler);
  await Promise.all(devices.map((d) => d.stopTelemetry()));

  // Held, never fenced; no connection dropped; no device marked offline.
  for (const [i, seen] of statesSeen.entries()) {
    t.ok(seen.has('holding'), `node ${i + 1} was holding while PostgreSQL was away`);
    t.notOk(seen.has('fenced'), `node ${i + 1} never fenced (${[...seen].join(', ')})`);
  }
  t.same([...devices, late].filter((d) => d.closes > 0 || d.connects !== 1).map((d) => d.id), [], 'no device connection was dropped');
  const maxGap = Math.max(...devices.map((d) => d.maxAckGapMs));
  t.ok(maxGap < 3_000, `ingest never stopped: the longest wait between two acknowledgements was ${maxGap} ms`);
  const offline = dash.frames.filter((f) => f.event === 'presence' && (f.presence as { status: string }).status !== 'online');
  t.same(offline, [], 'the dashboard saw no device go offline');
  for (let n = 0; n < nodeCount; n++) {
    const list = (await cluster.api('GET', '/api/devices', undefined, n)).body as { devices: { id: string; presence: { status: string } }[] };
    t.same(list.devices.filter((d) => d.presence.status !== 'online').map((d) => ({ id: d.id, presence: d.presence })), [], `node ${n + 1} sees every device online, the one that connected while Redis was down included`);
  }

  await eventually(async () => {
    const all = await Promise.all(cluster.nodes.map((n) => n.health()));
    return all.every((h) => (h.body.store as { buffer?: { points: number } }).buffer?.points === 0) ? true : null;
  }, 30_000, 'every node to drain its buffer into InfluxDB');
  const { acked, missing, doubled } = compareSeqs(devices, await storedSeqs(cluster.influx, cluster.influxDatabase));
  t.same(missing.slice(0, 20), [], `no acknowledged reading is missing (${missing.length} of ${acked})`);
  t.same(doubled.slice(0, 20), [], `no reading is stored twice (${doubled.length})`);
});
