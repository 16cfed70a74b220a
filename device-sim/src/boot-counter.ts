/**
 * The boot counter a device keeps in flash [FP-4.2], for simulated devices:
 * raised at every start of a device with that id, for the life of the
 * process. The first boot of a process is the clock in ms, so a simulator
 * started again does not name a boot the hub already holds seqs of (its
 * devices count seq from 0 again).
 */
const boots = new Map<string, number>();

export function nextBoot(deviceId: string, now = Date.now()): number {
  const boot = Math.max((boots.get(deviceId) ?? 0) + 1, now);
  boots.set(deviceId, boot);
  return boot;
}
