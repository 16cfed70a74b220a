/**
 * Issue 20, test 7: a node cut off from the engines fences itself. Node 1
 * reaches PostgreSQL and Redis through relays the test cuts (the other
 * nodes and InfluxDB stay reachable). Devices behind HAProxy stream QoS 1
 * telemetry and reconnect with retry, as firmware does. After the cut,
 * node 1's /healthz fails (503, fenced) within TTL/2 + one renewal
 * interval, it drops its devices, they reconnect to the other nodes; no
 * device is ever held by two nodes (sampled every 100 ms); every
 * acknowledged reading reaches InfluxDB; restored, node 1 rejoins.
 */
import { startCuttableProxy, type CuttableProxy } from '@iot-hub/engines';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import t from 'tap';
import { eventually } from '../helpers/clients.js';
import { startTestCluster, urlWithPort } from '../helpers/cluster.js';

const DEVICES = 30;
const LEASE_SEC = 4;
const TTL_MS = LEASE_SEC * 1000;
const CUT = 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sample {
  at: number;
  mqtt: number[];
  states: string[];
  /** Online ownership rows per node id. */
  owners: Map<string, number>;
}

for (const mode of ['reset', 'blackhole'] as const) t.test(`a node cut off from PostgreSQL and Redis (${mode}) fences itself, its devices move, nothing acknowledged is lost, and it rejoins`, async (t) => {
  const relays: CuttableProxy[] = [];
  t.teardown(() => Promise.all(relays.map((r) => r.stop())));
  const cluster = await startTestCluster(t, {
    leaseSec: LEASE_SEC,
    engineUrls: async (node, { pg, redis }) => {
      if (node !== CUT) return null;
      const [pgRelay, redisRelay] = [await startCuttableProxy(pg.port), await startCuttableProxy(redis.port)];
      relays.push(pgRelay, redisRelay);
      return { pgUrl: urlWithPort(pg.url, pgRelay.port), redisUrl: urlWithPort(redis.url, redisRelay.port) };
    },
  });
  if (!cluster) return;
  const haproxy = cluster.haproxy!;
  const cutNode = cluster.nodes[CUT]!;
  const devices = await Promise.all(Array.from({ length: DEVICES }, (_, i) => cluster.provision(`cut-${String(i).padStart(2, '0')}`)));

  // Firmware-like clients: retry every 300 ms after a drop or a refused CONNACK (a fenced node refuses
  // until HAProxy sees its health fail), resend unacknowledged QoS 1 messages.
  const clients: MqttClient[] = [];
  t.teardown(() => Promise.all(clients.map((c) => c.endAsync(true))));
  await Promise.all(
    devices.map(async (d) => {
      clients.push(await mqtt.connectAsync(`mqtt://127.0.0.1:${haproxy.mqttPort}`, { clientId: d.id, username: d.id, password: d.token, reconnectPeriod: 300, reconnectOnConnackError: true, connectTimeout: 3_000 }));
    }),
  );
  const acked = new Map<string, number[]>(devices.map((d) => [d.id, []]));
  let streaming = true;
  const streams = clients.map(async (client) => {
    const id = client.options.clientId as string;
    const seqs = acked.get(id)!;
    for (let seq = 0; streaming; seq++) {
      while (streaming && !client.connected) await sleep(50);
      if (!streaming) break;
      try {
        await client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq, metrics: { seq } }), { qos: 1 });
        seqs.push(seq);
      } catch {
        // Not acknowledged (the client was ended): not counted.
      }
      await sleep(100);
    }
  });

  const db = new pg.Client({ connectionString: cluster.pg.url });
  await db.connect();
  t.teardown(() => db.end());

  // Every 100 ms: the sessions each node holds, its state, and the online ownership rows per node.
  const samples: Sample[] = [];
  let sampling = true;
  t.teardown(() => {
    sampling = false;
  });
  const sampler = (async () => {
    while (sampling) {
      const tick = Date.now();
      const [healths, rows] = await Promise.all([
        Promise.all(cluster.nodes.map((n) => n.health())),
        db.query<{ node_id: string; n: string }>('SELECT node_id, count(*) AS n FROM device_presence WHERE online GROUP BY node_id'),
      ]).catch((err: unknown) => {
        if (sampling) throw err;
        return [[], { rows: [] }] as const;
      });
      if (!sampling) break;
      samples.push({
        at: tick,
        mqtt: healths.map((h) => (h.body.connections as { mqtt: number }).mqtt),
        states: healths.map((h) => `${h.status}/${(h.body.cluster as { state: string }).state}`),
        owners: new Map(rows.rows.map((r) => [r.node_id, Number(r.n)])),
      });
      await sleep(Math.max(0, 100 - (Date.now() - tick)));
    }
  })();

  await sleep(2_000);
  const before = samples.at(-1)!;
  t.ok(before.mqtt[CUT]! > 0, `node 1 holds devices before the cut (${before.mqtt.join(' + ')})`);
  t.same(before.states, ['200/healthy', '200/healthy', '200/healthy'], 'every node healthy before the cut');
  const held = before.mqtt[CUT]!;

  // Cut node 1 off from PostgreSQL and Redis.
  const cutAt = Date.now();
  for (const r of relays) r.cut(mode);
  const fenced = await eventually(() => samples.find((s) => s.at >= cutAt && s.states[CUT] === '503/fenced'), 15_000, 'node 1 to fence itself');
  const fenceMs = fenced.at - cutAt;
  // TTL/2 without a renewal, counted from the last renewal sent (up to one interval before the cut), plus one sampling period.
  const bound = TTL_MS / 2 + TTL_MS / 5 + 100;
  t.ok(fenceMs <= bound, `node 1 fenced ${fenceMs} ms after the cut (bound ${bound} ms)`);
  t.match(await cutNode.health(), { status: 503, body: { status: 'degraded', cluster: { state: 'fenced' } } }, '/healthz fails: fenced');

  // Its devices reconnect through HAProxy to the other two nodes, and claim them there.
  const moved = await eventually(
    () => {
      const s = samples.at(-1)!;
      return s.mqtt[CUT] === 0 && s.mqtt[1]! + s.mqtt[2]! === DEVICES && (s.owners.get(cutNode.nodeId) ?? 0) === 0 ? s : null;
    },
    20_000,
    'node 1’s devices to reconnect to the other nodes',
  ).catch((err: unknown) => {
    const s = samples.at(-1)!;
    throw new Error(`${(err as Error).message}: sessions ${s.mqtt.join(' + ')}, states ${s.states.join(', ')}, online rows ${JSON.stringify([...s.owners])}`);
  });
  t.pass(`all ${held} devices of node 1 moved ${moved.at - cutAt} ms after the cut (${moved.mqtt.join(' + ')})`);
  // Readings keep flowing on the other nodes while node 1 is cut off.
  const countAcked = (): number => [...acked.values()].reduce((n, s) => n + s.length, 0);
  const ackedWhileCut = countAcked();
  await sleep(1_500);
  t.ok(countAcked() > ackedWhileCut + DEVICES, 'devices keep being acknowledged while node 1 is cut off');

  // Restored: node 1 renews its lease and is healthy again.
  const restoredAt = Date.now();
  for (const r of relays) r.restore();
  const rejoined = await eventually(() => samples.find((s) => s.at >= restoredAt && s.states[CUT] === '200/healthy'), 15_000, 'node 1 to rejoin');
  t.pass(`node 1 healthy again ${rejoined.at - restoredAt} ms after the restore`);
  await haproxy.waitForServers('UP', 20_000);

  streaming = false;
  await Promise.all(streams);
  sampling = false;
  await sampler;

  // Never a device held by two nodes: the sessions all nodes hold never exceed the devices
  // (each device has one connection), and a fenced node holds none.
  const overHeld = samples.filter((s) => s.mqtt.reduce((a, b) => a + b, 0) > DEVICES).map((s) => `+${s.at - cutAt} ms: ${s.mqtt.join(' + ')}`);
  t.same(overHeld, [], `no sample has more sessions than devices (${samples.length} samples)`);
  const onlineRows = samples.filter((s) => [...s.owners.values()].reduce((a, b) => a + b, 0) > DEVICES);
  t.equal(onlineRows.length, 0, 'never more online ownership rows than devices');
  const fencedHolding = samples.filter((s) => s.states[CUT] === '503/fenced' && s.mqtt[CUT]! > 0).map((s) => `+${s.at - cutAt} ms: holds ${s.mqtt[CUT]}`);
  t.same(fencedHolding.slice(1), [], 'a fenced node holds no device session (beyond the sample it fenced in)');

  // Each device holds one session, on the node its ownership row names.
  const end = await eventually(
    async () => {
      const healths = await Promise.all(cluster.nodes.map((n) => n.health()));
      const mqttCounts = healths.map((h) => (h.body.connections as { mqtt: number }).mqtt);
      const rows = (await db.query<{ node_id: string; online: boolean }>('SELECT node_id, online FROM device_presence')).rows;
      const owned = cluster.nodes.map((n) => rows.filter((r) => r.online && r.node_id === n.nodeId).length);
      return mqttCounts.reduce((a, b) => a + b, 0) === DEVICES && owned.every((o, i) => o === mqttCounts[i]) ? { mqttCounts, owned } : null;
    },
    10_000,
    'sessions and ownership rows to agree',
  );
  t.same(end.owned, end.mqttCounts, `ownership rows match the sessions per node (${end.mqttCounts.join(' + ')})`);

  // Every acknowledged reading is in InfluxDB, once every node has drained its buffer.
  await eventually(
    async () => {
      const all = await Promise.all(cluster.nodes.map((n) => n.health()));
      return all.every((h) => (h.body.store as { buffer?: { points: number } }).buffer?.points === 0) ? true : null;
    },
    30_000,
    'every node to drain its buffer into InfluxDB',
  );
  const res = await cluster.influx.query(`SELECT "value", "device" FROM "raw"."telemetry" WHERE "metric" = 'seq'`, cluster.influxDatabase);
  const stored = new Map<string, Set<number>>();
  for (const row of res.results[0]?.series?.[0]?.values ?? []) {
    const device = String(row[2]);
    if (!stored.has(device)) stored.set(device, new Set());
    stored.get(device)!.add(Number(row[1]));
  }
  const missing: string[] = [];
  for (const [id, seqs] of acked) for (const s of seqs) if (!stored.get(id)?.has(s)) missing.push(`${id}#${s}`);
  t.ok(countAcked() > DEVICES * 20, `${countAcked()} readings acknowledged`);
  t.same(missing.slice(0, 20), [], `no acknowledged reading is missing (${missing.length} missing)`);
});
