/**
 * The end of a soak run, once every device has left: the hub should hold
 * no device connection and show no device online (else sessions or
 * presence leak), and everything acknowledged must be stored.
 */
import { join } from 'node:path';
import { HubApi, mapConcurrent } from '@iot-hub/device-sim';
import { benchLog, sleep } from './flags.js';
import { startHubProcess, type HubProcess } from './hub-process.js';
import { scrapeHub, type HubSnapshot } from './soak-metrics.js';

const log = benchLog('soak');

export interface AfterLeft {
  /** ms from the last device leaving until the hub showed no device connection and none online (or the wait ended). */
  waitedMs: number;
  snapshot: HubSnapshot | null;
  rssBytes: number | null;
}

/** Once every device has left, the hub should hold no device connection and show no device online. */
export async function afterDevicesLeft(hub: HubProcess, adminToken: string): Promise<AfterLeft> {
  const start = Date.now();
  let snap: HubSnapshot | undefined;
  while (Date.now() - start < 15_000) {
    snap = await scrapeHub(hub.httpUrl, adminToken);
    if (!snap) break;
    if (snap.connections && snap.connections.mqtt + snap.connections.ws === 0 && snap.devicesOnline === 0) break;
    await sleep(500);
  }
  return { waitedMs: Date.now() - start, snapshot: snap ?? null, rssBytes: snap?.rssBytes ?? null };
}

export interface Readback {
  stored: number | null;
  note: string;
  reads: number;
  /** True when the hub had exited (Ctrl-C reaches it too) and was started again on its data dir to read back. */
  restarted: boolean;
}

/** Sums the stored `temperature` samples of every device since `from` through the history API, until they reach `acked` or stop changing. */
export async function readBack(input: {
  hub: HubProcess;
  hubs: HubProcess[];
  pids: Set<number>;
  dataDir: string;
  adminToken: string;
  workDir: string;
  hubArgs: string[];
  ids: string[];
  from: number;
  acked: number;
}): Promise<Readback> {
  let hub = input.hub;
  let restarted = false;
  if (!(await scrapeHub(hub.httpUrl, input.adminToken))) {
    // A Ctrl-C in the terminal reaches the hub too (same process group): it shut down, durably. Read back from a fresh start on its data.
    const ended = await hub.stop();
    log(`the hub had exited (code ${ended.code}, signal ${ended.signal}): starting it again on its data dir for the loss check`);
    try {
      hub = await startHubProcess({ dataDir: input.dataDir, adminToken: input.adminToken, logFile: join(input.workDir, 'hub-readback.log'), extraArgs: input.hubArgs });
    } catch (err) {
      return { stored: null, note: `the hub could not be started again: ${(err as Error).message}`, reads: 0, restarted: false };
    }
    input.hubs.push(hub);
    input.pids.add(hub.pid);
    restarted = true;
  }
  const api = new HubApi(hub.httpUrl, input.adminToken);
  const read = async (): Promise<number> => {
    const counts = await mapConcurrent(input.ids, 16, async (id) => {
      const history = await api.history(id, { metric: 'temperature', from: input.from, maxPoints: 1 });
      return history.series.reduce((n, s) => n + s.points.reduce((m, p) => m + p.count, 0), 0);
    });
    return counts.reduce((a, b) => a + b, 0);
  };
  let stored = -1;
  let reads = 0;
  try {
    for (; reads < 10; ) {
      const now = await read();
      reads++;
      if (now >= input.acked || now === stored) {
        stored = now;
        break;
      }
      stored = now;
      await sleep(1000);
    }
  } catch (err) {
    return { stored: null, note: `history read failed: ${(err as Error).message}`, reads, restarted };
  }
  return { stored, note: restarted ? 'read after restarting the hub on its data dir' : 'history API', reads, restarted };
}
