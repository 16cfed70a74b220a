/**
 * Seq windows per boot outlive the hub [FP-4.2]: persisted on a clean stop,
 * and about every second (committed seqs only), so a resend after a restart
 * or a crash is still taken for the duplicate it is.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { TRANSPORTS, connectDevice, storedValues, type AnyDevice } from '../helpers/any-transport-device.js';
import { eventually } from '../helpers/clients.js';
import { spawnHub } from '../helpers/hub-process.js';
import { startTestHub, TEST_ADMIN_TOKEN } from '../helpers/hub.js';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Single samples without `ts` (the hub stamps each): a sample stored twice shows as two points. */
async function sendLive(t: Test, device: AnyDevice, seqs: number[], value: (seq: number) => number): Promise<void> {
  for (const seq of seqs) t.equal(await device.send({ type: 'telemetry', seq, metrics: { v: value(seq) } }), null, `seq ${seq} acknowledged`);
}

/** Samples buffered in flash during boot 1 and never sent before the reboot: they carry `ts`. */
function backlog(seqs: number[], now = Date.now()): { ts: number; seq: number; metrics: { v: number } }[] {
  return seqs.map((seq, i) => ({ ts: now - 60_000 + i * 1000, seq, metrics: { v: 1000 + seq } }));
}

for (const transport of TRANSPORTS) {
  t.test(`${transport}: the windows of each boot survive a hub restart between the boots`, async (t) => {
    const first = await startTestHub(t);
    const id = `restart-${transport}`;
    const { token } = await first.provision(id);
    const buffered = backlog(range(5, 9));

    const boot1 = await connectDevice(t, first, transport, id, token);
    await boot1.send({ type: 'hello', kind: 'sensor', boot: 1 });
    await sendLive(t, boot1, range(0, 4), (seq) => 100 + seq);
    await boot1.close();

    const hub = await first.restart();
    const boot2 = await connectDevice(t, hub, transport, id, token);
    await boot2.send({ type: 'hello', kind: 'sensor', boot: 2 });
    await sendLive(t, boot2, range(0, 11), (seq) => 200 + seq);
    // Boot 1's last sample, its ack lost before the restart, resent now: the persisted window knows it.
    t.equal(await boot2.send({ type: 'telemetry', boot: 1, seq: 4, metrics: { v: 104 } }), null);
    t.equal(await boot2.send({ type: 'telemetry', boot: 1, samples: buffered }), null);
    await boot2.close();

    // And again after a second restart: a resend in boot 2 (no `boot`: the boot of its last hello, remembered).
    const third = await hub.restart();
    const again = await connectDevice(t, third, transport, id, token);
    t.equal(await again.send({ type: 'telemetry', seq: 11, metrics: { v: 211 } }), null);
    t.equal(await again.send({ type: 'telemetry', boot: 1, samples: buffered }), null);

    const expected = [...range(100, 104), ...range(200, 211), ...range(1005, 1009)];
    t.same(await storedValues(third, id, 'v', expected.length), expected, 'every sample stored exactly once');
    await again.close();
  });
}

t.test('after kill -9, seqs acknowledged more than a second before the crash are still known', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'iot-hub-boot-crash-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const setup = await startTestHub(t, {}, dataDir);
  const { id, token } = await setup.provision('crashboot');
  await setup.stop();

  const hubProcess = await spawnHub(t, ['--data-dir', dataDir, '--admin-token', TEST_ADMIN_TOKEN]);
  const client = mqtt.connect(`mqtt://127.0.0.1:${hubProcess.mqttPort}`, { clientId: id, username: id, password: token, reconnectPeriod: 0 });
  t.teardown(() => client.end(true));
  await new Promise((r) => client.once('connect', r));
  await client.publishAsync(`devices/${id}/hello`, JSON.stringify({ kind: 'sensor', boot: 9 }), { qos: 1 });
  for (const seq of range(0, 4)) await client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq, metrics: { v: seq } }), { qos: 1 });
  // The windows are persisted about every second: wait until the file has them, then crash.
  await eventually(async () => {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(dataDir, 'registry.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT runs FROM seq_windows WHERE device_id = ?').get(id) as { runs: string } | undefined;
      return row?.runs === '[0,5]';
    } finally {
      db.close();
    }
  }, 10_000, 'the persisted window');
  hubProcess.child.kill('SIGKILL');
  await hubProcess.exited;
  client.end(true);

  const hub = await startTestHub(t, {}, dataDir);
  const device = await connectDevice(t, hub, 'mqtt', id, token);
  // A reconnect after the crash: no hello yet, the boot of the last one is remembered.
  await sendLive(t, device, range(0, 5), (seq) => seq);
  t.same(await storedValues(hub, id, 'v', 6), range(0, 5), 'the resends dropped, the new sample stored');
  await device.close();
});
