/**
 * Provisioning a bench fleet through the hub's API (`POST /api/devices`,
 * admin token), timed per request so a slow provisioning shows where its
 * time goes: the request's own latency, how many were in flight, and the
 * hub's CPU over the batch from /proc (CPU time per device: when the hub is
 * at a full core, the rate is one over that; when it is not, something else
 * waits, the client or a machine whose cores are taken by other work).
 */
import { startHubProcess } from './hub-process.js';
import { cpuPercent, readProc } from './proc-stats.js';
import { readSched, waitingPercent } from './run-delay.js';
import { HubApi, LatencyRecorder, mapConcurrent, type DeviceCredentials, type LatencySummary } from '@iot-hub/device-sim';

export interface ProvisioningReport {
  devices: number;
  concurrency: number;
  ms: number;
  perSec: number;
  /** Each POST from send to answer. */
  requestLatencyMs: LatencySummary | null;
  /** The hub's CPU over the batch (100 % = one core), and its CPU time per device provisioned. */
  hubCpuPercent: number;
  hubCpuMsPerDevice: number;
  /** % of the time the hub's event loop was ready but waited for a CPU (other work on the machine). */
  hubWaitingForCpuPercent: number | null;
}

/** Ids `${prefix}00001`… padded to the width of `count`. */
export function fleetIds(prefix: string, count: number): string[] {
  const width = String(count).length;
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`);
}

export async function provisionTimed(
  hub: { httpUrl: string; pid: number },
  adminToken: string,
  ids: readonly string[],
  kind: string,
  concurrency: number,
): Promise<{ devices: DeviceCredentials[]; report: ProvisioningReport }> {
  const api = new HubApi(hub.httpUrl, adminToken, { timeoutMs: 60_000 });
  const cpu0 = readProc(hub.pid);
  const sched0 = readSched(hub.pid);
  const latency = new LatencyRecorder();
  const started = performance.now();
  const devices = await mapConcurrent(ids, concurrency, async (id) => {
    const t0 = performance.now();
    const created = await api.provision({ id, kind });
    latency.record(performance.now() - t0);
    return { id: created.id, token: created.token, kind: created.kind };
  });
  const ms = performance.now() - started;
  const cpu1 = readProc(hub.pid);
  const sched1 = readSched(hub.pid);
  return {
    devices,
    report: {
      devices: ids.length,
      concurrency,
      ms,
      perSec: (ids.length * 1000) / ms,
      requestLatencyMs: latency.summary(),
      hubCpuPercent: cpuPercent(cpu0, cpu1),
      hubCpuMsPerDevice: (cpu1.cpuMs - cpu0.cpuMs) / ids.length,
      hubWaitingForCpuPercent: waitingPercent(sched0, sched1),
    },
  };
}

/**
 * Provisions the fleet with a hub process of its own on `dataDir` and stops
 * it: the hub that is then measured starts fresh on the same data dir, with
 * the devices in its registry but none of provisioning's garbage or CPU.
 */
export async function provisionWithOwnHub(options: {
  dataDir: string;
  logFile: string;
  adminToken: string;
  hubFlags: readonly string[];
  ids: readonly string[];
  kind: string;
  concurrency: number;
}): Promise<{ devices: DeviceCredentials[]; report: ProvisioningReport }> {
  const hub = await startHubProcess({ dataDir: options.dataDir, adminToken: options.adminToken, logFile: options.logFile, extraArgs: options.hubFlags });
  try {
    return await provisionTimed(hub, options.adminToken, options.ids, options.kind, options.concurrency);
  } finally {
    await hub.stop();
  }
}

/** One table cell: how long, how fast, and what it cost the hub. */
export function formatProvisioning(p: ProvisioningReport): string {
  const lat = p.requestLatencyMs;
  return (
    `${p.devices.toLocaleString('en-US')} in ${(p.ms / 1000).toFixed(1)} s = ${Math.round(p.perSec)}/s (${p.concurrency} in flight), ` +
    `POST p50 / p99 ${lat?.p50.toFixed(0) ?? '-'} / ${lat?.p99.toFixed(0) ?? '-'} ms, hub CPU ${p.hubCpuPercent.toFixed(0)} % = ${p.hubCpuMsPerDevice.toFixed(2)} ms per device` +
    (p.hubWaitingForCpuPercent === null ? '' : `, waiting for a CPU ${p.hubWaitingForCpuPercent.toFixed(0)} %`)
  );
}
