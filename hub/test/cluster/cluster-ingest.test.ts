/**
 * Issue 20, test 1: three nodes behind HAProxy, 300 devices at QoS 1 with
 * seq. Every acknowledged (device, seq) is in InfluxDB exactly once, the
 * devices are spread over the nodes, and each is online on exactly the node
 * that holds its socket.
 */
import mqtt, { type MqttClient } from 'mqtt';
import t from 'tap';
import { eventually } from '../helpers/clients.js';
import { startTestCluster } from '../helpers/cluster.js';

const DEVICES = 300;
const MESSAGES = 20;

t.test('300 devices through HAProxy: every acknowledged reading stored once, devices spread over the nodes', async (t) => {
  const cluster = await startTestCluster(t);
  if (!cluster) return;
  const haproxy = cluster.haproxy!;
  const devices: { id: string; token: string }[] = [];
  // In groups: one address may hold 64 HTTP connections (--max-http-connections-per-ip).
  for (let i = 0; i < DEVICES; i += 30) {
    devices.push(...(await Promise.all(Array.from({ length: Math.min(30, DEVICES - i) }, (_, j) => cluster.provision(`dev-${String(i + j).padStart(3, '0')}`)))));
  }

  const clients: MqttClient[] = [];
  t.teardown(() => Promise.all(clients.map((c) => c.endAsync(true))));
  await Promise.all(
    devices.map(async (d) => {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${haproxy.mqttPort}`, { clientId: d.id, username: d.id, password: d.token, reconnectPeriod: 0, connectTimeout: 10_000 });
      clients.push(client);
    }),
  );

  const acked = new Map<string, number[]>();
  await Promise.all(
    devices.map(async (d, i) => {
      const client = clients.find((c) => c.options.clientId === d.id) as MqttClient;
      const seqs: number[] = [];
      acked.set(d.id, seqs);
      for (let seq = 0; seq < MESSAGES; seq++) {
        await client.publishAsync(`devices/${d.id}/telemetry`, JSON.stringify({ seq, metrics: { seq } }), { qos: 1 });
        seqs.push(seq);
      }
      void i;
    }),
  );

  // Each node holds some of the devices, and the cluster store agrees with the sockets.
  const healths = await Promise.all(cluster.nodes.map((n) => n.health()));
  const held = healths.map((h) => (h.body.connections as { mqtt: number }).mqtt);
  t.equal(held.reduce((a, b) => a + b, 0), DEVICES, `every device holds one session (${held.join(' + ')})`);
  for (const [i, n] of held.entries()) t.ok(n > DEVICES / 10, `node ${i + 1} holds a share of the devices (${n})`);
  for (const h of healths) t.match(h.body, { status: 'ok', cluster: { state: 'healthy', bus: true } });

  // Every node's buffer drains into InfluxDB.
  await eventually(async () => {
    const all = await Promise.all(cluster.nodes.map((n) => n.health()));
    return all.every((h) => (h.body.store as { buffer?: { points: number } }).buffer?.points === 0) ? true : null;
  }, 30_000, 'every node to drain its buffer into InfluxDB');
  const res = await cluster.influx.query(`SELECT "value", "device" FROM "raw"."telemetry" WHERE "metric" = 'seq'`, cluster.influxDatabase);
  const stored = new Map<string, number[]>();
  for (const row of res.results[0]?.series?.[0]?.values ?? []) {
    const device = String(row[2]);
    stored.set(device, [...(stored.get(device) ?? []), Number(row[1])]);
  }
  let missing = 0;
  let doubled = 0;
  for (const [id, seqs] of acked) {
    const got = stored.get(id) ?? [];
    missing += seqs.filter((s) => !got.includes(s)).length;
    doubled += got.length - new Set(got).size;
  }
  t.equal(missing, 0, 'no acknowledged reading is missing');
  t.equal(doubled, 0, 'no reading is stored twice');
  t.equal([...acked.values()].reduce((n, s) => n + s.length, 0), DEVICES * MESSAGES, 'every reading was acknowledged');

  // Presence: any node's API sees every device online.
  const list = await cluster.api('GET', '/api/devices', undefined, 2);
  const online = (list.body as { devices: { presence: { status: string } }[] }).devices.filter((d) => d.presence.status === 'online').length;
  t.equal(online, DEVICES, 'node 3 sees every device online, wherever it is connected');
});
