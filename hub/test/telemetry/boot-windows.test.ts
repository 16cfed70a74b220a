/**
 * The seq windows of a device's boots [FP-4.2]: within a named boot seq 0 is
 * an ordinary seq; a device that names no boot keeps the 1.0 window; boots
 * are keyed by type and value; the least recently used of MAX_BOOT_WINDOWS
 * boots is evicted by a new one.
 */
import t, { type Test } from 'tap';
import { MAX_BOOT_WINDOWS, type DeviceView } from '@iot-hub/protocol';
import { connectDevice, storedValues, type AnyDevice } from '../helpers/any-transport-device.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Single samples without `ts` (the hub stamps each): a sample stored twice shows as two points. */
async function sendLive(t: Test, device: AnyDevice, seqs: number[], value: (seq: number) => number): Promise<void> {
  for (const seq of seqs) t.equal(await device.send({ type: 'telemetry', seq, metrics: { v: value(seq) } }), null, `seq ${seq} acknowledged`);
}

async function duplicates(hub: TestHub, id: string): Promise<number> {
  return ((await hub.api('GET', `/api/devices/${id}`)).body as DeviceView).stats.duplicates;
}

t.test('a named boot: seq 0 does not clear the window, so a resent seq 0 is stored once', async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('zero');
  const device = await connectDevice(t, hub, 'ws', 'zero', token);
  await device.send({ type: 'hello', kind: 'sensor', boot: 'a7f3c2' });
  await sendLive(t, device, [0, 1, 0, 2, 0], (seq) => seq);
  t.same(await storedValues(hub, 'zero', 'v', 3), [0, 1, 2]);
  t.equal(await duplicates(hub, 'zero'), 2);
});

t.test('a device that names no boot keeps 1.0 behaviour: seq 0 restarts its window', async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('legacy');
  const device = await connectDevice(t, hub, 'mqtt', 'legacy', token);
  await device.send({ type: 'hello', kind: 'sensor' });
  await sendLive(t, device, [0, 1, 2, 1], (seq) => 10 + seq);
  // A reboot: seq 0 again, then 1 and 2 are new samples of the new boot.
  await sendLive(t, device, [0, 1, 2], (seq) => 20 + seq);
  t.same(await storedValues(hub, 'legacy', 'v', 6), [10, 11, 12, 20, 21, 22]);
  t.equal(await duplicates(hub, 'legacy'), 1);
});

t.test('integer 5 and string "5" are different boots', async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('typed');
  const device = await connectDevice(t, hub, 'ws', 'typed', token);
  await device.send({ type: 'hello', kind: 'sensor', boot: 5 });
  await sendLive(t, device, [0], () => 1);
  t.equal(await device.send({ type: 'telemetry', boot: '5', seq: 0, metrics: { v: 2 } }), null);
  t.equal(await device.send({ type: 'telemetry', boot: 5, seq: 0, metrics: { v: 1 } }), null);
  t.same(await storedValues(hub, 'typed', 'v', 2), [1, 2]);
});

t.test(`a new boot evicts the least recently used of ${MAX_BOOT_WINDOWS} boot windows`, async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('evict');
  const device = await connectDevice(t, hub, 'ws', 'evict', token);
  // Boots 1 to 4, each with seq 0; then boot 1 is used again, so boot 2 is the least recently used.
  for (const boot of range(1, 4)) {
    await device.send({ type: 'hello', kind: 'sensor', boot });
    await sendLive(t, device, [0], () => boot * 10);
  }
  t.equal(await device.send({ type: 'telemetry', boot: 1, seq: 0, metrics: { v: 10 } }), null, 'boot 1 resend');
  await device.send({ type: 'hello', kind: 'sensor', boot: 5 });
  await sendLive(t, device, [0], () => 50);
  t.equal(await duplicates(hub, 'evict'), 1);
  // Boots 1, 3, 4 and 5 are held: their resends are dropped. Boot 2 was evicted: its resend cannot be checked and is stored.
  for (const boot of [1, 3, 4, 5]) await device.send({ type: 'telemetry', boot, seq: 0, metrics: { v: boot * 10 } });
  t.equal(await duplicates(hub, 'evict'), 5, 'resends of held boots dropped');
  await device.send({ type: 'telemetry', boot: 2, seq: 0, metrics: { v: 20 } });
  t.equal(await duplicates(hub, 'evict'), 5, 'the evicted boot is not checked');
  t.same(await storedValues(hub, 'evict', 'v', 6), [10, 20, 20, 30, 40, 50]);
});

