/**
 * One ingest trial and the search for a system's highest lossless rate
 * (issue 8, row `ingest`). A system is the hub or a peer pipeline (Node-RED
 * behind Mosquitto): whatever accepts MQTT telemetry on a URL and stores it
 * somewhere that can be counted. A trial runs device-sim's load mode as a
 * child process (bench/src/lib/load-process.ts) at one aggregate rate for a
 * window, then waits until the store stops growing.
 *
 *   lossless      every message that had to be kept is stored: the hub
 *                 promises to keep what it acknowledged (PUBACK after the
 *                 durable append); a broker acknowledges on receipt, so for
 *                 a peer every message sent must be stored
 *   stored msgs/s stored ÷ (publishing window + PUBACK drain + the time the
 *                 store took after the load generator ended to reach its
 *                 final count): what the system carried end to end,
 *                 including any backlog it worked off afterwards
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { LatencySummary, LoadReport } from '@iot-hub/device-sim';
import type { DashboardProbe } from './dashboard-probe.js';
import { int } from './format.js';
import { sleep } from './flags.js';
import { startLoadProcess } from './load-process.js';
import { pressureShare, readPressure, type PressureSample, type PressureShare } from './pressure.js';
import { cpuPercent, readProc, type ProcSample } from './proc-stats.js';

/** Asked of the load generator for "flat out": far above any system here, so every device keeps its window of K messages full. */
export const FLAT_OUT_RATE = 1_000_000;

export interface IngestSystem {
  /** For tables and JSON: "hub (influx)", "node-red + mosquitto (tuned)". */
  name: string;
  mqttUrl: string;
  /** The load CLI's --hub; only used to provision, which it never needs (the credentials file has every device). */
  hubUrl: string;
  credentialsFile: string;
  devices: number;
  idPrefix: string;
  /** Processes whose CPU is reported, by role ("hub", "influxd", "mosquitto", "node-red"). */
  processes: { role: string; pid: number }[];
  /**
   * Load messages stored so far, or only those whose timestamp (the
   * system's receive time, or the send time for a peer) is in [from, to]
   * (epoch ms): a trial counts its own messages, so a backlog of an earlier
   * trial landing late cannot pass for this one's.
   */
  countStored(range?: { from: number; to: number }): Promise<number>;
  /** `acked`: the system acknowledges only what it stored (the hub); `sent`: it acknowledges on receipt (a broker). */
  mustStore: 'acked' | 'sent';
  /** Dashboard sockets watching the system's telemetry (the hub only). */
  dashboards?: readonly DashboardProbe[];
}

export interface TrialOptions {
  durationMs: number;
  settleTimeoutMs: number;
  workDir: string;
  log: (message: string) => void;
}

export interface TrialResult {
  system: string;
  /** msgs/s asked of the load generator; null for flat out. */
  rateAsked: number | null;
  windowMs: number;
  drainMs: number;
  /** From the load generator's exit until the store's final count was first seen; 0 when it was complete at the first read. */
  storeLagMs: number;
  connected: number;
  connectFailed: number;
  sent: number;
  acked: number;
  failed: number;
  stored: number;
  /** What had to be stored (acked or sent, see IngestSystem.mustStore) minus what was. > 0 is loss. */
  missing: number;
  lossless: boolean;
  sentPerSec: number;
  storedPerSec: number;
  publishToPubackMs: LatencySummary | null;
  /** % of one core over the window and drain, by process role. */
  cpuPercent: Record<string, number | null>;
  loadGeneratorCpuPercent: number;
  /** This process (the dashboard sockets, the progress line, the counting). */
  benchCpuPercent: number;
  dashboards: { sockets: number; events: number; dropped: number; publishToDashboardMs: LatencySummary | null } | null;
  loadErrors: Record<string, number>;
  /** The machine's 1-minute load average when the trial ended: other work on the shared cores. */
  loadAvg1m: number;
  /** Share of the window and drain in which some task on the machine waited for a CPU / for I/O (Linux PSI); null without PSI. */
  pressure: PressureShare | null;
}

/** Runs the load generator at `rate` (undefined: flat out) against a system and waits for its store to settle. */
export async function runTrial(system: IngestSystem, rate: number | undefined, options: TrialOptions): Promise<TrialResult> {
  const label = `${system.name} @ ${rate === undefined ? 'flat out' : `${int(rate)} msgs/s`}`;
  await quietStore(system, options.settleTimeoutMs);
  const dashboards = system.dashboards ?? [];
  const dashBefore = dashboards.map((d) => ({ events: d.events, dropped: d.dropped, latencies: d.latency.count }));
  options.log(`${label}: connecting ${int(system.devices)} devices`);
  const loadStartedAt = Date.now();
  const load = startLoadProcess({
    hubUrl: system.hubUrl,
    mqttUrl: system.mqttUrl,
    credentialsFile: system.credentialsFile,
    devices: system.devices,
    idPrefix: system.idPrefix,
    rate: rate ?? FLAT_OUT_RATE,
    // The window is ended by stop() (SIGINT); this is the upper bound.
    maxDurationMs: options.durationMs + 5000,
    logFile: join(options.workDir, `load-${Date.now()}.log`),
  });
  const progress = setInterval(() => {
    const p = load.lastProgress;
    if (p) options.log(`${label}: ${p.line.replace(/^load\s+/, '')}`);
  }, 2000);
  let report: LoadReport | undefined;
  let loadExitAt: number;
  let stopped = false;
  const marks: { at: number; cpu: NodeJS.CpuUsage; pressure: PressureSample | undefined; procs: (ProcSample | undefined)[] }[] = [];
  const mark = (): void => {
    marks.push({
      at: Date.now(),
      cpu: process.cpuUsage(),
      pressure: readPressure(),
      procs: system.processes.map((p) => {
        try {
          return readProc(p.pid);
        } catch {
          return undefined; // gone: reported as null
        }
      }),
    });
  };
  try {
    await load.publishing;
    mark();
    // `publishing` resolves at the first progress line, about 1 s into the window.
    await sleep(Math.max(0, options.durationMs - 1000));
    const ended = await load.stop();
    stopped = true;
    loadExitAt = Date.now();
    mark();
    report = ended.report;
    if (!report) throw new Error(`${label}: the load generator gave no report (exit code ${ended.code}, signal ${ended.signal}); rerun with --keep-data to keep its log`);
  } finally {
    clearInterval(progress);
    if (!stopped) await load.stop(); // a failure path: the load generator must not outlive the trial
  }

  const expected = system.mustStore === 'acked' ? report.acked : report.sent;
  // Every message of this trial was sent, received and stamped between the spawn and the exit of its load generator.
  const range = { from: loadStartedAt - RANGE_MARGIN_MS, to: loadExitAt + RANGE_MARGIN_MS };
  const settle = await settleStore(system, range, expected, loadExitAt, options.settleTimeoutMs);
  await settleDashboards(dashboards, dashBefore, settle.stored, options.settleTimeoutMs);
  const [start, end] = marks as [(typeof marks)[0], (typeof marks)[0]];
  const cpu: Record<string, number | null> = {};
  system.processes.forEach((p, i) => {
    const a = start.procs[i];
    const b = end.procs[i];
    cpu[p.role] = a && b ? cpuPercent(a, b) : null;
  });
  const benchCpuMs = (end.cpu.user + end.cpu.system - start.cpu.user - start.cpu.system) / 1000;
  const activeSec = (report.durationMs + report.drainMs + settle.lagMs) / 1000;
  const result: TrialResult = {
    system: system.name,
    rateAsked: rate ?? null,
    windowMs: report.durationMs,
    drainMs: report.drainMs,
    storeLagMs: settle.lagMs,
    connected: report.connected,
    connectFailed: report.connectFailed,
    sent: report.sent,
    acked: report.acked,
    failed: report.failed,
    stored: settle.stored,
    missing: expected - settle.stored,
    lossless: expected - settle.stored <= 0 && report.connected > 0,
    sentPerSec: report.sentPerSec,
    storedPerSec: settle.stored / activeSec,
    publishToPubackMs: report.ackLatencyMs,
    cpuPercent: cpu,
    loadGeneratorCpuPercent: report.cpu.percentOfOneCore,
    benchCpuPercent: (benchCpuMs / (end.at - start.at)) * 100,
    dashboards:
      dashboards.length === 0
        ? null
        : {
            sockets: dashboards.length,
            events: dashboards.reduce((n, d, i) => n + d.events - (dashBefore[i]?.events ?? 0), 0),
            dropped: dashboards.reduce((n, d, i) => n + d.dropped - (dashBefore[i]?.dropped ?? 0), 0),
            // Every socket sees the same events: the first one's latency stands for all.
            publishToDashboardMs: (dashboards[0] as DashboardProbe).latency.summary(dashBefore[0]?.latencies ?? 0),
          },
    loadErrors: report.errors,
    loadAvg1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    pressure: pressureShare(start.pressure, end.pressure),
  };
  options.log(
    `${label}: sent ${int(result.sent)}, acked ${int(result.acked)}, stored ${int(result.stored)} ` +
      `(${result.lossless ? 'lossless' : `${int(result.missing)} MISSING`}), ${int(result.storedPerSec)} stored msgs/s`,
  );
  return result;
}

/** Slack around a trial's time range; trials are seconds apart (settle, then connecting the devices). */
const RANGE_MARGIN_MS = 500;
/** A store whose count did not move for this long is taken as final: what is missing then is lost. */
const STALL_MS = 10_000;
/**
 * How often the store's count is read while it catches up. The time it took
 * counts in stored msgs/s, so a coarse poll would add up to one interval to
 * every system that was still writing when the load ended.
 */
const SETTLE_POLL_MS = 100;

/** Waits until the store's total count stopped changing for 1 s: a backlog of an earlier trial would take CPU from this one. */
async function quietStore(system: IngestSystem, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let count = await system.countStored();
  for (;;) {
    await sleep(1000);
    const now = await system.countStored();
    if (now === count || Date.now() > deadline) return;
    count = now;
  }
}

/** Polls the trial's count until it reaches `expected`, stops growing for STALL_MS (loss), or the timeout. */
async function settleStore(system: IngestSystem, range: { from: number; to: number }, expected: number, loadExitAt: number, timeoutMs: number): Promise<{ stored: number; lagMs: number }> {
  let stored = await system.countStored(range);
  let finalSeenAt = stored >= expected ? loadExitAt : Date.now();
  while (stored < expected && Date.now() - loadExitAt < timeoutMs && Date.now() - finalSeenAt < STALL_MS) {
    await sleep(SETTLE_POLL_MS);
    const now = await system.countStored(range);
    if (now !== stored) finalSeenAt = Date.now();
    stored = now;
  }
  return { stored, lagMs: finalSeenAt - loadExitAt };
}

/** Waits until every dashboard socket got (or was told it missed) each stored message of the trial, or saw nothing new for 2 s. */
async function settleDashboards(dashboards: readonly DashboardProbe[], before: readonly { events: number; dropped: number }[], stored: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const behind = (): boolean => dashboards.some((d, i) => d.events + d.dropped - (before[i]?.events ?? 0) - (before[i]?.dropped ?? 0) < stored);
  while (behind() && Date.now() < deadline && dashboards.some((d) => Date.now() - d.lastEventAt < 2000)) await sleep(100);
}

export interface SearchResult {
  trials: TrialResult[];
  /** The lossless trial with the highest stored msgs/s; undefined when none was lossless. */
  best: TrialResult | undefined;
  /** best's stored msgs/s, or 0. */
  maxLosslessPerSec: number;
}

/**
 * The highest lossless rate: a fixed rate when given (one trial); else one
 * trial flat out, and if that lost messages, paced trials: first at the
 * rate flat out stored (what the system carried while overloaded, usually
 * close to its capacity), then a bisection between the highest rate it kept
 * up with (0 at first) and the lowest it did not (at first the rate the
 * load generator sent flat out: nothing can store more), `steps` trials in
 * all. A paced trial kept up when it was lossless, the load generator sent
 * at least 90 % of the rate asked, and the store took in at least 75 % of it
 * over window + drain + settle (the drain and the settle add a second or
 * two to the denominator). A lossless trial that did not keep up still
 * counts as a lossless rate; the search just does not go above it.
 */
export async function searchMaxLossless(
  runAt: (rate: number | undefined) => Promise<TrialResult>,
  options: { fixedRate?: number; steps: number },
): Promise<SearchResult> {
  const trials: TrialResult[] = [];
  const run = async (rate: number | undefined): Promise<TrialResult> => {
    const t = await runAt(rate);
    trials.push(t);
    return t;
  };
  if (options.fixedRate !== undefined) {
    await run(options.fixedRate);
  } else {
    const flat = await run(undefined);
    if (!flat.lossless) {
      let lo = 0;
      let hi = flat.sentPerSec;
      let rate = roundRate(Math.min(flat.storedPerSec, 0.9 * hi));
      for (let i = 0; i < options.steps && rate > lo && rate < hi; i++) {
        const t = await run(rate);
        if (keptUp(t, rate)) lo = rate;
        else hi = rate;
        rate = roundRate((lo + hi) / 2);
      }
    }
  }
  const lossless = trials.filter((t) => t.lossless);
  const best = lossless.reduce<TrialResult | undefined>((b, t) => (!b || t.storedPerSec > b.storedPerSec ? t : b), undefined);
  return { trials, best, maxLosslessPerSec: best?.storedPerSec ?? 0 };
}

function keptUp(t: TrialResult, rate: number): boolean {
  return t.lossless && t.sentPerSec >= 0.9 * rate && t.storedPerSec >= 0.75 * rate;
}

/** Two significant digits (12,345 → 12,000; 77 → 77), at least 10 msgs/s: trial rates read as chosen, not computed. */
export function roundRate(rate: number): number {
  if (rate < 10) return 10;
  const unit = 10 ** (Math.floor(Math.log10(rate)) - 1);
  return Math.round(rate / unit) * unit;
}
