/**
 * Issue 20, test 5: `kill -9` of a node under load, restarted later. Devices
 * behave like firmware (reconnect through HAProxy, QoS 1 telemetry with ts
 * and seq, commands executed once per id). Commands are in flight to devices
 * on the victim when it dies. Afterwards: every acknowledged (device, seq) is
 * in InfluxDB exactly once (the victim's local buffer drains when it is back),
 * every command ends in one final state, none executed twice, every device
 * online on a node that holds its socket.
 *
 * The issue restarts the node after 30 s; here after RESTART_AFTER_MS = 10 s
 * so that the file stays within ~90 s on a loaded 2-core machine (the
 * outcome does not depend on the length: the victim's devices are elsewhere
 * within seconds, and its lease long expired either way).
 */
import pg from 'pg';
import t from 'tap';
import type { CommandView } from '@iot-hub/protocol';
import { eventually } from '../helpers/clients.js';
import { startTestCluster } from '../helpers/cluster.js';
import { compareSeqs, firmwareDevice, sleep, storedSeqs, type FirmwareDevice } from '../helpers/firmware-device.js';

const DEVICES = 60;
const TELEMETRY_PERIOD_MS = 250;
const RESTART_AFTER_MS = 10_000;
const VICTIM = 1;

t.test('kill -9 of a node under load: no acknowledged reading lost, its devices back elsewhere, commands end once', async (t) => {
  const cluster = await startTestCluster(t);
  if (!cluster) return;
  const haproxy = cluster.haproxy!;
  const db = new pg.Client({ connectionString: cluster.pg.url });
  await db.connect();
  t.teardown(() => db.end());
  const owners = async (): Promise<Map<string, string>> => {
    const rows = (await db.query<{ device_id: string; node_id: string }>('SELECT device_id, node_id FROM device_presence WHERE online')).rows;
    return new Map(rows.map((r) => [r.device_id, r.node_id]));
  };

  const ids = Array.from({ length: DEVICES }, (_, i) => `fw-${String(i).padStart(2, '0')}`);
  const tokens: { id: string; token: string }[] = [];
  for (let i = 0; i < ids.length; i += 30) tokens.push(...(await Promise.all(ids.slice(i, i + 30).map((id) => cluster.provision(id, 'thermostat')))));
  // Half the devices take 8 s per command: running when the node dies and still after they reconnect, so
  // the new node sends them again (the device must not execute them twice); the others 300 ms.
  const devices: FirmwareDevice[] = await Promise.all(
    tokens.map((d, i) => firmwareDevice(t, { url: `mqtt://127.0.0.1:${haproxy.mqttPort}`, id: d.id, token: d.token, commandMs: i % 2 === 0 ? 8_000 : 300 })),
  );
  for (const d of devices) d.startTelemetry(TELEMETRY_PERIOD_MS);

  const victimId = cluster.nodes[VICTIM]!.nodeId;
  const before = await eventually(async () => {
    const o = await owners();
    return o.size === DEVICES ? o : null;
  }, 30_000, 'every device online').catch(async (err: Error) => {
    const rows = (await db.query('SELECT * FROM device_presence WHERE NOT online')).rows;
    const states = devices.map((d) => `${d.id}:${d.connects}/${d.closes}/${d.client.connected}`).join(' ');
    throw new Error(`${err.message}: not online ${JSON.stringify(rows)}; clients ${states}`);
  });
  const onVictim = devices.filter((d) => before.get(d.id) === victimId);
  t.ok(onVictim.length >= DEVICES / 6, `the victim holds a share of the devices (${onVictim.length})`);
  await sleep(2_000);

  // Commands posted to another node for devices held by the victim, then the victim dies while they run.
  const commands: CommandView[] = [];
  for (const d of onVictim) {
    for (let i = 0; i < 2; i++) {
      const res = await cluster.api('POST', `/api/devices/${d.id}/commands`, { name: 'identify' }, 0);
      t.equal(res.status, 202, `${d.id}: command accepted`);
      commands.push(res.body as CommandView);
    }
  }
  await eventually(() => onVictim.every((d) => d.deliveries.size > 0), 5_000, 'commands to reach the victim\'s devices');
  const killedAt = Date.now();
  await cluster.nodes[VICTIM]!.kill();

  // HAProxy's health check marks it down; its devices reconnect to the others and claim there.
  await eventually(async () => ((await haproxy.serverStates()).mqtt[victimId] === 'DOWN' ? true : null), 10_000, 'HAProxy to mark the victim DOWN');
  const elsewhere = await eventually(async () => {
    const o = await owners();
    return onVictim.every((d) => d.client.connected && o.has(d.id) && o.get(d.id) !== victimId) ? o : null;
  }, 20_000, 'the victim\'s devices online on other nodes');
  t.pass(`the victim's ${onVictim.length} devices are online elsewhere ${Date.now() - killedAt} ms after the kill`);
  t.equal([...elsewhere.values()].filter((n) => n === victimId).length, 0, 'no device is still owned by the dead node');

  await sleep(Math.max(0, RESTART_AFTER_MS - (Date.now() - killedAt)));
  await cluster.nodes[VICTIM]!.restart();
  await haproxy.waitForServers('UP', 20_000);
  await sleep(2_000);
  await Promise.all(devices.map((d) => d.stopTelemetry()));

  // Every command ends in exactly one final state: the device's answer reached a node.
  const final = await eventually(async () => {
    const views = await Promise.all(commands.map(async (c) => (await cluster.api('GET', `/api/commands/${c.id}`, undefined, 2)).body as CommandView));
    return views.every((v) => v.state === 'succeeded') ? views : null;
  }, 30_000, 'every command to succeed');
  t.equal(final.length, onVictim.length * 2, 'every command succeeded');
  let executedTwice = 0;
  let afterFinal = 0;
  let executedNever = 0;
  for (const c of commands) {
    const d = devices.find((x) => x.id === c.deviceId)!;
    const n = d.executions.get(c.id) ?? 0;
    if (n > 1) executedTwice += 1;
    if (n === 0) executedNever += 1;
    afterFinal += d.afterFinal.get(c.id) ?? 0;
  }
  t.equal(executedTwice, 0, 'no command executed twice');
  t.equal(executedNever, 0, 'every command executed (once)');
  t.equal(afterFinal, 0, 'no command sent again after its final result was acknowledged');
  const resent = commands.filter((c) => (devices.find((x) => x.id === c.deviceId)!.deliveries.get(c.id) ?? 0) > 1).length;
  t.ok(resent > 0, `unfinished commands were sent again on the new connection (${resent} of ${commands.length})`);

  // Every acknowledged reading is in InfluxDB once, the victim's buffered ones included.
  await eventually(async () => {
    const all = await Promise.all(cluster.nodes.map((n) => n.health()));
    return all.every((h) => (h.body.store as { buffer?: { points: number } }).buffer?.points === 0) ? true : null;
  }, 30_000, 'every node to drain its buffer into InfluxDB');
  const { acked, missing, doubled } = compareSeqs(devices, await storedSeqs(cluster.influx, cluster.influxDatabase));
  t.ok(acked > DEVICES * 20, `readings were acknowledged throughout (${acked})`);
  t.same(missing.slice(0, 20), [], `no acknowledged reading is missing (${missing.length} of ${acked})`);
  t.same(doubled.slice(0, 20), [], `no reading is stored twice (${doubled.length})`);

  // Devices: one session each, online on the node that holds it.
  const healths = await Promise.all(cluster.nodes.map((n) => n.health()));
  t.equal(healths.reduce((s, h) => s + (h.body.connections as { mqtt: number }).mqtt, 0), DEVICES, 'one session per device');
  for (const [i, h] of healths.entries()) t.match(h.body, { status: 'ok', cluster: { state: 'healthy', bus: true } }, `node ${i + 1} healthy`);
  const list = await cluster.api('GET', '/api/devices', undefined, VICTIM);
  t.equal((list.body as { devices: { presence: { status: string } }[] }).devices.filter((d) => d.presence.status === 'online').length, DEVICES, 'every device online (asked of the restarted node)');
  t.equal(devices.filter((d) => !d.client.connected).length, 0, 'every device connected');
});
