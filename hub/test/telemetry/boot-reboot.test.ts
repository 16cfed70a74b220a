/**
 * No acknowledged sample lost across reboots (issue 19, item 1) [FP-4.2]: a
 * device names its boot in `hello`, and its backlog from an earlier boot in
 * `telemetry.boot`; the hub drops resends by seq per boot. The exact sequence
 * of the issue, on both transports. Each value is sent once (resends aside),
 * so the stored values tell exactly what was stored, and how often.
 */
import t, { type Test } from 'tap';
import type { DeviceView } from '@iot-hub/protocol';
import { TRANSPORTS, connectDevice, storedValues, type AnyDevice } from '../helpers/any-transport-device.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Single samples without `ts` (the hub stamps each): a sample stored twice shows as two points. */
async function sendLive(t: Test, device: AnyDevice, seqs: number[], value: (seq: number) => number): Promise<void> {
  for (const seq of seqs) t.equal(await device.send({ type: 'telemetry', seq, metrics: { v: value(seq) } }), null, `seq ${seq} acknowledged`);
}

/** Samples buffered in flash during boot 1 and never sent before the reboot: they carry `ts`. */
function backlog(seqs: number[], now = Date.now()): { ts: number; seq: number; metrics: { v: number } }[] {
  return seqs.map((seq, i) => ({ ts: now - 60_000 + i * 1000, seq, metrics: { v: 1000 + seq } }));
}

async function duplicates(hub: TestHub, id: string): Promise<number> {
  return ((await hub.api('GET', `/api/devices/${id}`)).body as DeviceView).stats.duplicates;
}

for (const transport of TRANSPORTS) {
  t.test(`${transport}: a backlog from the previous boot, sent after the new boot's samples, is stored exactly once`, async (t) => {
    const hub = await startTestHub(t);
    const id = `reboot-${transport}`;
    const { token } = await hub.provision(id);
    const buffered = backlog(range(5, 9));

    const boot1 = await connectDevice(t, hub, transport, id, token);
    t.equal(await boot1.send({ type: 'hello', kind: 'sensor', boot: 1 }), null);
    await sendLive(t, boot1, range(0, 4), (seq) => 100 + seq);
    await sendLive(t, boot1, [3], (seq) => 100 + seq); // its PUBACK/ack was lost: resent
    await boot1.close();

    // Reboot: the counter in flash says 2, seq starts at 0 again, and goes past the backlog's seqs.
    const boot2 = await connectDevice(t, hub, transport, id, token);
    t.equal(await boot2.send({ type: 'hello', kind: 'sensor', boot: 2 }), null);
    await sendLive(t, boot2, range(0, 11), (seq) => 200 + seq);
    await sendLive(t, boot2, [0, 7], (seq) => 200 + seq); // resends within boot 2, seq 0 too
    t.equal(await boot2.send({ type: 'telemetry', boot: 1, samples: buffered }), null, 'backlog acknowledged');
    t.equal(await boot2.send({ type: 'telemetry', boot: 1, samples: buffered }), null, 'backlog resent (ack lost), acknowledged');

    const expected = [...range(100, 104), ...range(200, 211), ...range(1005, 1009)];
    t.same(await storedValues(hub, id, 'v', expected.length), expected, 'every sample stored exactly once');
    t.equal(await duplicates(hub, id), 1 + 2 + 5, 'the resends were taken for duplicates');
    await boot2.close();
  });
}
