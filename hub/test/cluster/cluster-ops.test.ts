/**
 * The operator's view of a cluster, on three real nodes: other nodes'
 * telemetry is listened to only while a dashboard of the node wants it
 * (PUBSUB NUMSUB of the telemetry channel is 0 without one), a dashboard on
 * node 3 sees readings of a device on node 1 (latest values read back from
 * InfluxDB first), and each node's /metrics carries the cluster, bus and
 * PostgreSQL figures with the values the traffic made.
 */
import { Redis } from 'ioredis';
import t from 'tap';
import { DASHBOARD_SUBPROTOCOL, type DeviceView } from '@iot-hub/protocol';
import { attachDevice, type TestDevice } from '../commands/test-device.js';
import { eventually, jsonSocket, type JsonSocket } from '../helpers/clients.js';
import { CLUSTER_ADMIN_TOKEN, startTestCluster, type TestCluster } from '../helpers/cluster.js';
import type { TestHub } from '../helpers/hub.js';

const TELEMETRY_CHANNEL = 'iot-hub:events:telemetry';

/** A device connected straight to one node (not through HAProxy), so the test knows which node holds it. */
async function deviceOn(t: { teardown(fn: () => unknown): void }, cluster: TestCluster, node: number, id: string, token: string): Promise<TestDevice> {
  const n = cluster.nodes[node]!;
  const hub = { mqttUrl: `mqtt://127.0.0.1:${n.mqttPort}`, api: (method: string, path: string) => cluster.api(method, path, undefined, node) } as unknown as TestHub;
  const device = attachDevice(t, hub, 'mqtt', id, token);
  await device.connect();
  return device;
}

/** Samples of one metric from a Prometheus text page: labels as written (`{state="idle"}`, or '' without) → value. */
function samples(page: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of page.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) found.set(m[2] ?? '', Number(m[3]));
  }
  return found;
}

function value(page: string, name: string, labels = ''): number {
  const v = samples(page, name).get(labels);
  if (v === undefined) throw new Error(`${name}${labels} is not in /metrics`);
  return v;
}

async function metricsOf(cluster: TestCluster, node: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${cluster.nodes[node]!.httpPort}/metrics`, { headers: { authorization: `Bearer ${CLUSTER_ADMIN_TOKEN}` } });
  if (res.status !== 200) throw new Error(`/metrics of node ${node + 1}: ${res.status}`);
  return res.text();
}

/** Subscribers of the telemetry channel, and which bus connections hold a subscription to it. */
async function telemetryListeners(redis: Redis): Promise<number> {
  const reply = (await redis.call('PUBSUB', 'NUMSUB', TELEMETRY_CHANNEL)) as [string, number];
  return Number(reply[1]);
}

function latestOf(devices: DeviceView[], id: string): Record<string, { value: unknown }> {
  return (devices.find((d) => d.id === id)?.latest ?? {}) as Record<string, { value: unknown }>;
}

t.test('telemetry relayed on demand; /metrics of cluster nodes', async (t) => {
  const cluster = await startTestCluster(t, { withHaproxy: false });
  if (!cluster) return;
  const redis = new Redis(cluster.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  t.teardown(() => redis.disconnect());

  const { token } = await cluster.provision('sensor-1');
  const device = await deviceOn(t, cluster, 0, 'sensor-1', token);
  await device.telemetry({ temp: 21 });
  // Drained into InfluxDB, where node 3 reads it back from.
  await eventually(async () => ((await cluster.nodes[0]!.health()).body.store as { buffer: { points: number } }).buffer.points === 0, 20_000, 'node 1 to drain its buffer');

  // No dashboard anywhere: no node listens to the telemetry channel, so node 3 has not heard the reading.
  t.equal(await telemetryListeners(redis), 0, 'no node subscribed to telemetry without a dashboard');
  const before = await cluster.api('GET', '/api/devices/sensor-1', undefined, 2);
  t.same(Object.keys((before.body as DeviceView).latest), [], 'node 3 has not heard the reading (the documented limit while no dashboard of it wants telemetry)');
  t.equal(value(await metricsOf(cluster, 2), 'iot_hub_cluster_telemetry_listening'), 0, 'node 3 reports it does not listen');

  // A dashboard on node 3 wants telemetry: node 3 subscribes and reads latest values back from InfluxDB.
  const dash: JsonSocket = await jsonSocket(t, `ws://127.0.0.1:${cluster.nodes[2]!.httpPort}/ws/dashboard`, { protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${CLUSTER_ADMIN_TOKEN}`] });
  dash.send({ id: 1, op: 'subscribe', devices: '*', events: ['telemetry'] });
  await dash.next((f) => f.id === 1);
  await eventually(async () => (await telemetryListeners(redis)) === 1, 5_000, 'node 3 to subscribe to the telemetry channel');
  // Its first snapshot may predate the read-back: it is told to resync once the values are in.
  await dash.next((f) => f.event === 'overflow', 10_000);
  dash.send({ id: 2, op: 'subscribe', devices: '*', events: ['telemetry'] });
  const snapshot = await dash.next((f) => f.id === 2);
  t.same(latestOf((snapshot.data as { devices: DeviceView[] }).devices, 'sensor-1').temp?.value, 21, 'the new snapshot has the reading taken on node 1 before node 3 listened');

  // Live: a reading on node 1 reaches the dashboard on node 3.
  await device.telemetry({ temp: 22 });
  const live = await dash.next((f) => f.event === 'telemetry' && f.deviceId === 'sensor-1' && (f.metrics as { temp?: number }).temp === 22, 10_000);
  t.equal(live.deviceId, 'sensor-1', 'the dashboard on node 3 sees the reading of the device on node 1');
  const page3 = await metricsOf(cluster, 2);
  t.equal(value(page3, 'iot_hub_cluster_telemetry_listening'), 1, 'node 3 reports it listens');
  t.ok(value(page3, 'iot_hub_cluster_remote_events_total') >= 1, 'node 3 counted remote events');
  t.ok(value(page3, 'iot_hub_cluster_latest_refreshes_total') >= 1, 'node 3 read latest values back');
  t.equal(value(page3, 'iot_hub_cluster_latest_refresh_failures_total'), 0, 'without failures');

  // Unsubscribing stops the listening; a socket that closes does too.
  dash.send({ id: 3, op: 'unsubscribe', devices: '*', events: ['telemetry'] });
  await dash.next((f) => f.id === 3);
  await eventually(async () => (await telemetryListeners(redis)) === 0, 5_000, 'node 3 to unsubscribe after the unsubscribe');
  // A device deleted on node 1 leaves the subscriptions of node 3's sockets: if it was the last telemetry wanted, node 3 stops listening.
  await cluster.provision('short-lived');
  await eventually(async () => (await cluster.api('GET', '/api/devices/short-lived', undefined, 2)).status === 200, 10_000, 'node 3 to know the new device');
  dash.send({ id: 4, op: 'subscribe', devices: ['short-lived'], events: ['telemetry'] });
  t.equal((await dash.next((f) => f.id === 4)).status, 'ok');
  await eventually(async () => (await telemetryListeners(redis)) === 1, 5_000, 'node 3 to subscribe for one device');
  t.equal((await cluster.api('DELETE', '/api/devices/short-lived', undefined, 0)).status, 204);
  await eventually(async () => (await telemetryListeners(redis)) === 0, 10_000, 'node 3 to unsubscribe once the only device watched is gone');
  dash.send({ id: 5, op: 'subscribe', devices: ['sensor-1'], events: ['telemetry'] });
  await dash.next((f) => f.id === 5);
  await eventually(async () => (await telemetryListeners(redis)) === 1, 5_000, 'node 3 to subscribe again');
  dash.ws.close();
  await dash.closed;
  await eventually(async () => (await telemetryListeners(redis)) === 0, 5_000, 'node 3 to unsubscribe once its last dashboard closed');

  // The device moves to node 2 while still online on node 1: node 2 claims it and kicks node 1.
  const moved = await deviceOn(t, cluster, 1, 'sensor-1', token);
  await moved.telemetry({ temp: 23 });
  await eventually(async () => ((await cluster.nodes[0]!.health()).body.connections as { mqtt: number }).mqtt === 0, 10_000, 'node 1 to close its older session');

  const [page1, page2] = [await metricsOf(cluster, 0), await metricsOf(cluster, 1)];
  t.equal(value(page1, 'iot_hub_cluster_claims_total'), 1, 'node 1 claimed the device once');
  t.equal(value(page2, 'iot_hub_cluster_claims_total'), 1, 'node 2 claimed it once');
  t.equal(value(page2, 'iot_hub_cluster_kicks_sent_total'), 1, 'node 2 told node 1 to close its session');
  t.equal(value(page1, 'iot_hub_cluster_kicks_sent_total'), 0, 'node 1 kicked nobody');
  for (const [i, page] of [page1, page2, page3].entries()) {
    const n = `node ${i + 1}`;
    t.same(Object.fromEntries(samples(page, 'iot_hub_cluster_state')), { '{state="healthy"}': 1, '{state="holding"}': 0, '{state="fenced"}': 0 }, `${n} is healthy`);
    t.equal(value(page, 'iot_hub_cluster_fences_total'), 0, `${n} never fenced`);
    t.equal(value(page, 'iot_hub_cluster_claims_refused_total'), 0, `${n} refused no claim`);
    t.equal(value(page, 'iot_hub_bus_connected', '{connection="publisher"}'), 1, `${n}: bus publisher up`);
    t.equal(value(page, 'iot_hub_bus_connected', '{connection="subscriber"}'), 1, `${n}: bus subscriber up`);
    t.ok(value(page, 'iot_hub_bus_published_messages_total') >= 1, `${n} published on the bus (lease heartbeats at least)`);
    t.ok(value(page, 'iot_hub_bus_received_messages_total') >= 1, `${n} received from the bus`);
    t.equal(value(page, 'iot_hub_bus_gaps_total'), 0, `${n}: no bus gap`);
    t.ok(value(page, 'iot_hub_pg_commits_total') >= 1, `${n} committed to PostgreSQL`);
    const busy = value(page, 'iot_hub_pg_pool_connections', '{state="busy"}');
    const idle = value(page, 'iot_hub_pg_pool_connections', '{state="idle"}');
    t.ok(busy + idle >= 1 && busy + idle <= 10, `${n}: pool between 1 and --pg-max-connections (${busy} busy, ${idle} idle)`);
    t.equal(value(page, 'iot_hub_pg_pool_waiting'), 0, `${n}: nothing waits for a connection`);
    t.ok(value(page, 'iot_hub_cluster_registry_syncs_total') >= 1, `${n} synced its registry`);
    t.equal(value(page, 'iot_hub_cluster_registry_sync_failures_total'), 0, `${n}: no failed sync`);
  }
  // The device was provisioned through node 1: the others learned of it from PostgreSQL.
  t.equal(value(page1, 'iot_hub_cluster_registry_changes_total'), 0, 'node 1 wrote the device itself');
  t.ok(value(page2, 'iot_hub_cluster_registry_changes_total') >= 1, 'node 2 mirrored the new device');
  // Node 1 commits more than once per claim: the claim, the registry, the release after the kick.
  t.ok(value(page1, 'iot_hub_pg_commits_total') > value(page1, 'iot_hub_cluster_claims_total'), 'node 1 commits are counted beyond its claims');
});
