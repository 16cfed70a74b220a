/**
 * Issue 20, test 4: 1,000 randomized reconnects across three nodes (50
 * devices × 20 moves). Each move goes straight to another node's MQTT port,
 * so every reconnect changes the owner: sometimes the new connection comes
 * before the old one closes (a takeover: the new node kicks the old), and
 * sometimes after. Every node's API is sampled every 100 ms meanwhile: a
 * device connected (for longer than the bus needs to carry its presence)
 * must never show offline anywhere. At the end each device holds one
 * session, on the node its ownership row names, online.
 */
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import t from 'tap';
import type { DeviceView } from '@iot-hub/protocol';
import { DASHBOARD_SUBPROTOCOL } from '@iot-hub/protocol';
import { jsonSocket } from '../helpers/clients.js';
import { CLUSTER_ADMIN_TOKEN, startTestCluster, type TestCluster } from '../helpers/cluster.js';

const DEVICES = 50;
const MOVES = 20;
/** A sample counts only for devices connected at least this long before it was asked: the time a presence event needs to cross the bus. */
const PROPAGATION_GRACE_MS = 500;

type Mode = 'kicked' | 'new-then-close' | 'close-then-new';

interface Device {
  id: string;
  token: string;
  node: number;
  client: MqttClient;
  /** Intervals during which the device had a connection, [from, to]; `to` is Infinity while it still has one. */
  connected: [number, number][];
}

interface Sample {
  node: number;
  askedAt: number;
  answeredAt: number;
  presence: Map<string, string>;
}

function connect(cluster: TestCluster, node: number, d: { id: string; token: string }): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${cluster.nodes[node]!.mqttPort}`, { clientId: d.id, username: d.id, password: d.token, reconnectPeriod: 0, connectTimeout: 10_000 });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('1,000 randomized reconnects across three nodes: one live session per device, owner row matches, never a false offline', async (t) => {
  const cluster = await startTestCluster(t, { withHaproxy: false });
  if (!cluster) return;
  const provisioned: { id: string; token: string }[] = [];
  for (let i = 0; i < DEVICES; i += 25) {
    provisioned.push(...(await Promise.all(Array.from({ length: Math.min(25, DEVICES - i) }, (_, j) => cluster.provision(`mover-${String(i + j).padStart(2, '0')}`)))));
  }
  const devices: Device[] = [];
  const allClients: MqttClient[] = [];
  t.teardown(() => Promise.all(allClients.map((c) => c.endAsync(true))));
  await Promise.all(
    provisioned.map(async (p, i) => {
      const node = i % 3;
      const client = await connect(cluster, node, p);
      allClients.push(client);
      devices.push({ ...p, node, client, connected: [[Date.now(), Infinity]] });
    }),
  );

  // A dashboard on node 3 sees every presence change, wherever it happens.
  const dash = await jsonSocket(t, `ws://127.0.0.1:${cluster.nodes[2]!.httpPort}/ws/dashboard`, { protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${CLUSTER_ADMIN_TOKEN}`] });
  dash.send({ id: 1, op: 'subscribe', devices: '*', events: ['presence'] });
  await dash.next((f) => f.id === 1);

  // Every node's view of presence, every 100 ms.
  const samples: Sample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const tick = Date.now();
      await Promise.all(
        [0, 1, 2].map(async (node) => {
          const askedAt = Date.now();
          const res = await cluster.api('GET', '/api/devices', undefined, node);
          const presence = new Map((res.body as { devices: DeviceView[] }).devices.map((d) => [d.id, d.presence.status] as [string, string]));
          samples.push({ node, askedAt, answeredAt: Date.now(), presence });
        }),
      );
      await sleep(Math.max(0, 100 - (Date.now() - tick)));
    }
  })();

  const modes: Record<Mode, number> = { kicked: 0, 'new-then-close': 0, 'close-then-new': 0 };
  const kickFailures: string[] = [];
  await Promise.all(
    devices.map(async (d) => {
      for (let move = 0; move < MOVES; move++) {
        await sleep(Math.random() * 150);
        const next = (d.node + 1 + Math.floor(Math.random() * 2)) % 3;
        const mode = (['kicked', 'new-then-close', 'close-then-new'] as const)[Math.floor(Math.random() * 3)]!;
        modes[mode] += 1;
        const old = d.client;
        if (mode === 'close-then-new') {
          d.connected.at(-1)![1] = Date.now();
          await old.endAsync(true);
          await sleep(Math.random() * 50);
          d.client = await connect(cluster, next, d);
          d.connected.push([Date.now(), Infinity]);
        } else {
          const oldClosed = new Promise<void>((resolve) => old.once('close', () => resolve()));
          d.client = await connect(cluster, next, d);
          if (mode === 'kicked') {
            // The new node's claim kicks the old node's session: the old connection closes without help.
            const closed = await Promise.race([oldClosed.then(() => true), sleep(5_000).then(() => false)]);
            if (!closed) kickFailures.push(`${d.id} move ${move}: node ${d.node + 1} kept the old session after node ${next + 1} took over`);
          }
          await old.endAsync(true);
        }
        allClients.push(d.client);
        d.node = next;
      }
    }),
  );
  const movesDone = Date.now();
  // Let the last samples see the final placement settle across the bus.
  await sleep(1_000);
  sampling = false;
  await sampler;

  t.same(modes['kicked'] + modes['new-then-close'] + modes['close-then-new'], DEVICES * MOVES, `${DEVICES * MOVES} moves (${JSON.stringify(modes)})`);
  t.same(kickFailures, [], 'every takeover closed the old node’s session');

  // No sample shows offline for a device that had been connected long enough for its presence to spread.
  const falseOffline: string[] = [];
  for (const s of samples) {
    for (const d of devices) {
      const held = d.connected.some(([from, to]) => from <= s.askedAt - PROPAGATION_GRACE_MS && to >= s.answeredAt);
      const status = s.presence.get(d.id);
      if (held && status !== 'online') falseOffline.push(`${d.id} ${status ?? 'missing'} on node ${s.node + 1} at +${s.askedAt - movesDone} ms`);
    }
  }
  t.ok(samples.length > 30, `presence sampled ${samples.length} times`);
  t.same(falseOffline.slice(0, 20), [], `no connected device ever shows offline (${falseOffline.length} false offline samples)`);

  // One live session per device, on the node the test connected it to.
  const expected = [0, 1, 2].map((n) => devices.filter((d) => d.node === n).length);
  const healths = await Promise.all(cluster.nodes.map((n) => n.health()));
  const held = healths.map((h) => (h.body.connections as { mqtt: number }).mqtt);
  t.same(held, expected, `each node holds exactly the sessions connected to it (${held.join(' + ')})`);
  t.equal(
    held.reduce((a, b) => a + b, 0),
    DEVICES,
    'one session per device',
  );
  for (const d of devices) t.ok(d.client.connected, `${d.id}: its last connection is still open`);

  // The ownership table names the node holding the socket, online.
  const db = new pg.Client({ connectionString: cluster.pg.url });
  await db.connect();
  t.teardown(() => db.end());
  const rows = (await db.query<{ device_id: string; node_id: string; online: boolean }>('SELECT device_id, node_id, online FROM device_presence')).rows;
  const owners = new Map(rows.map((r) => [r.device_id, r]));
  const wrongOwner = devices.filter((d) => owners.get(d.id)?.node_id !== cluster.nodes[d.node]!.nodeId || owners.get(d.id)?.online !== true);
  t.same(
    wrongOwner.map((d) => `${d.id}: socket on ${cluster.nodes[d.node]!.nodeId}, row ${JSON.stringify(owners.get(d.id))}`),
    [],
    'every ownership row says online on the node holding the socket',
  );

  // Every node's API and the dashboard end with every device online.
  for (const node of [0, 1, 2]) {
    const list = (await cluster.api('GET', '/api/devices', undefined, node)).body as { devices: DeviceView[] };
    const offline = list.devices.filter((d) => d.presence.status !== 'online').map((d) => d.id);
    t.same(offline, [], `node ${node + 1} shows every device online`);
  }
  const lastSeenByDashboard = new Map<string, string>();
  for (const f of dash.frames) if (f.event === 'presence') lastSeenByDashboard.set(f.deviceId as string, (f.presence as { status: string }).status);
  t.same(
    devices.filter((d) => lastSeenByDashboard.get(d.id) !== 'online').map((d) => `${d.id}: ${lastSeenByDashboard.get(d.id) ?? 'none'}`),
    [],
    'the dashboard’s last presence event of every device is online',
  );
});
