/**
 * fanout benchmark (issues 8 and 23): N devices at 1 Hz each (device-sim
 * load mode in its own process), M dashboard sockets each subscribed to
 * every device's telemetry (in one or more processes of their own,
 * lib/fanout-dashboards.ts). Phases "baseline" and "aa": every dashboard
 * reads, twice back to back (an A/A pair: nothing differs but time, so
 * their gap is the run's own noise); phase "slow": one dashboard stops
 * reading (its socket paused) and, once the hub coalesces for it, the
 * others must not notice; phase "recovered": it reads again and has caught
 * up. Isolation is judged against the run's noise: the others' p99 in
 * "slow" may move from the A/A mean by no more than the A/A spread + 10 %.
 * Reports per-dashboard publish → push p50/p99, the share of updates each
 * dashboard got within 100 ms, how the others' p99 moved, and every
 * process's CPU.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { provisionDevices, writeCredentialsFile } from '@iot-hub/device-sim';
import { DashboardChild, median, percentiles, type Percentiles } from './lib/dashboard-children.js';
import type { ChildReport, PhaseCounts, SocketReport } from './lib/fanout-dashboards.js';
import { int, mb, ms, pct, table } from './lib/format.js';
import { fetchHubMetrics, metricSample } from './lib/hub-metrics.js';
import { startHubProcess } from './lib/hub-process.js';
import { startLoadProcess, type LoadProcess } from './lib/load-process.js';
import { type MachineInfo } from './lib/machine.js';
import { readPressure, pressureShare } from './lib/pressure.js';
import { cpuPercent, ProcSampler, type ProcSample } from './lib/proc-stats.js';
import { defineBenchmark } from './lib/harness.js';
import type { ScoreRow } from './lib/scoreboard.js';
import { benchLog, durationFlag, parseFlags, sleep, wholeFlag } from './lib/flags.js';

export const FANOUT_DESCRIPTION = '200 dashboards each subscribed to 1,000 devices at 1 Hz: delivery within 100 ms, slow-dashboard isolation';

export const FANOUT_HELP = `npm run bench -- fanout [options]

  --devices N          devices, each publishing once a second, QoS 1 (default 1000)
  --dashboards M       dashboard sockets, each subscribed to every device's telemetry (default 200)
  --dashboard-procs P  processes the dashboard sockets are spread over (default 2)
  --window D           length of each measured phase: 15s, 1m (default 15s)
  --warmup D           publishing before the first phase (default 5s)
  --fill-timeout D     longest wait for the hub to start coalescing for the stalled dashboard (default 60s)
  --hub-arg ARG        extra hub flag, repeatable
  --keep-data          keep the temp dir (hub data, hub.log, load.log)
`;

interface FanoutOptions {
  devices: number;
  dashboards: number;
  procs: number;
  windowMs: number;
  warmupMs: number;
  fillTimeoutMs: number;
  hubArgs: string[];
  keepData: boolean;
}

function parseFanoutArgs(argv: readonly string[]): FanoutOptions | 'help' {
  const v = parseFlags(argv, {
    devices: { type: 'string' },
    dashboards: { type: 'string' },
    'dashboard-procs': { type: 'string' },
    window: { type: 'string' },
    warmup: { type: 'string' },
    'fill-timeout': { type: 'string' },
    'hub-arg': { type: 'string', multiple: true },
    'keep-data': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) return 'help';
  const dashboards = wholeFlag('dashboards', v.dashboards, 200, 2);
  return {
    devices: wholeFlag('devices', v.devices, 1000),
    dashboards,
    procs: Math.min(dashboards, wholeFlag('dashboard-procs', v['dashboard-procs'], 2)),
    windowMs: durationFlag('window', v.window, '15s'),
    warmupMs: durationFlag('warmup', v.warmup, '5s'),
    fillTimeoutMs: durationFlag('fill-timeout', v['fill-timeout'], '60s'),
    hubArgs: v['hub-arg'] ?? [],
    keepData: v['keep-data'] ?? false,
  };
}

const log = benchLog('fanout');
/** The dashboard that stops reading in the second phase. */
const STALLED = 0;
const DELIVERY_MS = 100;
/** Added to the A/A spread: how far the others' p99 may move while one dashboard stalls (issue 23). */
const ISOLATION_MARGIN = 0.1;

/** Counter of events the hub did not deliver to slow dashboards, from /metrics. */
async function hubDroppedEvents(httpUrl: string, adminToken: string): Promise<number | undefined> {
  const text = await fetchHubMetrics(httpUrl, adminToken);
  return text === undefined ? undefined : metricSample(text, 'iot_hub_dashboard_dropped_events_total');
}

/** Dashboard sockets the hub holds open, from /metrics: shows whether the stalled one was still connected. */
async function hubDashboardSockets(httpUrl: string, adminToken: string): Promise<number | undefined> {
  const text = await fetchHubMetrics(httpUrl, adminToken);
  return text === undefined ? undefined : metricSample(text, 'iot_hub_connections', 'kind="dashboard"');
}

interface CpuMarks {
  hub: ProcSample | undefined;
  load: ProcSample | undefined;
  dashboards: (ProcSample | undefined)[];
  bench: NodeJS.CpuUsage;
  at: number;
  pressure: ReturnType<typeof readPressure>;
}

export const fanoutBenchmark = defineBenchmark({
  name: 'fanout',
  description: FANOUT_DESCRIPTION,
  help: FANOUT_HELP,
  parse: parseFanoutArgs,
  async measure(options, { workDir, machine }) {
    const adminToken = randomBytes(24).toString('hex');
    const children: DashboardChild[] = [];
    const samplers: ProcSampler[] = [];
    let load: LoadProcess | undefined;
    // Every dashboard uses the admin token, which is one user to the hub's per-user socket limit.
    const hub = await startHubProcess({ dataDir: join(workDir, 'data'), adminToken, logFile: join(workDir, 'hub.log'), logLevel: 'warn', extraArgs: ['--dashboard-max-sockets-per-user', String(Math.max(options.dashboards, 1)), ...options.hubArgs] });
    try {
      const hubSampler = new ProcSampler(hub.pid);
      samplers.push(hubSampler);
      hubSampler.start(1000);
      log(`hub pid ${hub.pid} at ${hub.httpUrl}; data and logs in ${workDir}`);
      const width = String(options.devices).length;
      const ids = Array.from({ length: options.devices }, (_, i) => `fan-${String(i + 1).padStart(width, '0')}`);
      const devices = await provisionDevices({ hubUrl: hub.httpUrl, adminToken, devices: ids.map((id) => ({ id, kind: 'load-sensor' })), concurrency: 100 });
      const credentialsFile = join(workDir, 'load-devices.json');
      await writeCredentialsFile(credentialsFile, devices);
      log(`provisioned ${int(devices.length)} devices`);

      // Dashboards, spread evenly over the processes; socket 0 (the one that stalls later) is in the first.
      const perProc = Math.ceil(options.dashboards / options.procs);
      const connecting: Promise<unknown>[] = [];
      for (let first = 0; first < options.dashboards; first += perProc) {
        const child = new DashboardChild();
        children.push(child);
        connecting.push(child.request({ op: 'connect', httpUrl: hub.httpUrl, adminToken, sockets: Math.min(perProc, options.dashboards - first), firstIndex: first }, 'ready'));
      }
      await Promise.all(connecting);
      const dashSamplers = children.map((c) => new ProcSampler(c.pid));
      samplers.push(...dashSamplers);
      log(`${options.dashboards} dashboard sockets subscribed, in ${children.length} processes (pids ${children.map((c) => c.pid).join(', ')})`);

      load = startLoadProcess({
        hubUrl: hub.httpUrl,
        mqttUrl: hub.mqttUrl,
        credentialsFile,
        devices: options.devices,
        idPrefix: 'fan-',
        rate: options.devices,
        maxDurationMs: options.warmupMs + 4 * options.windowMs + options.fillTimeoutMs + 120_000,
        logFile: join(workDir, 'load.log'),
      });
      await load.publishing;
      const loadSampler = new ProcSampler(load.pid);
      samplers.push(loadSampler);
      log(`load publishing ${int(options.devices)} msgs/s (pid ${load.pid}); warming up ${options.warmupMs / 1000} s`);
      await sleep(options.warmupMs);

      const mark = (): CpuMarks => ({
        hub: hubSampler.sample(),
        load: loadSampler.sample(),
        dashboards: dashSamplers.map((s) => s.sample()),
        bench: process.cpuUsage(),
        at: Date.now(),
        pressure: readPressure(),
      });
      const loadAcked = (): number => load?.lastProgress?.acked ?? 0;
      const runPhase = async (name: string) => {
        const from = mark();
        const ackedFrom = loadAcked();
        for (const c of children) c.send({ op: 'phase', name, fromT: from.at });
        for (let elapsed = 0; elapsed < options.windowMs; elapsed += 5000) {
          await sleep(Math.min(5000, options.windowMs - elapsed));
          log(`${name}: ${Math.round((Date.now() - from.at) / 1000)} s, ${load?.lastProgress?.ackedPerSec ?? '?'} acked/s, hub CPU ${pct(cpuPercent(from.hub as ProcSample, hubSampler.sample() ?? (from.hub as ProcSample)))}`);
        }
        const to = mark();
        // The phase ends here: updates published from now on belong to no phase until the next one starts.
        for (const c of children) c.send({ op: 'phase', name: `after-${name}`, fromT: to.at });
        return { from, to, ackedPerSec: ((loadAcked() - ackedFrom) * 1000) / (to.at - from.at) };
      };

      const baseline = await runPhase('baseline');
      const aa = await runPhase('aa');
      // Phase 2: one dashboard stops reading; measure once the hub is coalescing for it.
      const droppedBefore = (await hubDroppedEvents(hub.httpUrl, adminToken)) ?? 0;
      children[0]?.send({ op: 'stall', index: STALLED });
      const stallAt = Date.now();
      for (const c of children) c.send({ op: 'phase', name: 'filling', fromT: stallAt });
      let filledMs: number | null = null;
      while (Date.now() - stallAt < options.fillTimeoutMs) {
        await sleep(500);
        if (((await hubDroppedEvents(hub.httpUrl, adminToken)) ?? 0) > droppedBefore) {
          filledMs = Date.now() - stallAt;
          break;
        }
      }
      log(filledMs === null ? `the hub did not start coalescing within ${options.fillTimeoutMs / 1000} s: measuring anyway` : `dashboard ${STALLED} stalled: the hub coalesces for it after ${(filledMs / 1000).toFixed(1)} s`);
      const slow = await runPhase('slow');
      const socketsAtSlowEnd = await hubDashboardSockets(hub.httpUrl, adminToken);
      const droppedAtEnd = (await hubDroppedEvents(hub.httpUrl, adminToken)) ?? 0;
      // Late events still count in their phase (by their `t`): give them a moment, then let the stalled one catch up.
      await sleep(2000);
      await children[0]?.request({ op: 'resume' }, 'resumed');
      // It reads what waited for it; the hub sends what it kept and the overflow notice after that.
      let caughtUpMs: number | null = null;
      const resumedAt = Date.now();
      for (let waited = 0; waited < 15_000; waited += 500) {
        await sleep(500);
        const stalled = (await children[0]?.report())?.sockets.find((s) => s.index === STALLED);
        if (Object.values(stalled?.phases ?? {}).some((c) => c.overflows > 0)) {
          caughtUpMs = Date.now() - resumedAt;
          break;
        }
      }
      log(caughtUpMs === null ? `dashboard ${STALLED} got no overflow notice within 15 s of resuming` : `dashboard ${STALLED} caught up ${(caughtUpMs / 1000).toFixed(1)} s after resuming`);
      const recovered = await runPhase('recovered');
      for (const c of children) c.send({ op: 'end', atT: recovered.to.at });
      await sleep(2000);
      const reports = await Promise.all(children.map((c) => c.report()));
      const loadEnd = await load.stop();
      load = undefined;

      const stalledConnected = socketsAtSlowEnd === undefined ? null : socketsAtSlowEnd === options.dashboards;
      const result = buildResult({ options, reports, phases: { baseline, aa, slow, recovered }, filledMs, caughtUpMs, stalledConnected, droppedHub: droppedAtEnd - droppedBefore, hubPeakRss: hubSampler.peakRssBytes, hubLogs: hub.logs, loadReport: loadEnd.report });
      return { result, rows: fanoutRows(result), text: formatFanout(result, machine) };
    } finally {
      for (const s of samplers) s.stop();
      await Promise.all(children.map((c) => c.stop()));
      await load?.stop();
      const ended = await hub.stop();
      if (ended.killed) log('the hub did not stop within 15 s of SIGTERM: killed');
    }
  },
});

interface PhaseRun {
  from: CpuMarks;
  to: CpuMarks;
  ackedPerSec: number;
}

interface BuildInput {
  options: FanoutOptions;
  reports: ChildReport[];
  phases: { baseline: PhaseRun; aa: PhaseRun; slow: PhaseRun; recovered: PhaseRun };
  filledMs: number | null;
  /** From resuming to its overflow notice. */
  caughtUpMs: number | null;
  /** Whether the hub still held every dashboard socket at the end of the slow phase (null: /metrics unread). */
  stalledConnected: boolean | null;
  droppedHub: number;
  hubPeakRss: number;
  hubLogs: { warn: number; error: number; samples: string[] };
  loadReport: unknown;
}

const EMPTY: PhaseCounts = { events: 0, within100: 0, histogram: [], slow: [], overflows: 0, dropped: 0 };

function phaseFigures(name: 'baseline' | 'aa' | 'slow' | 'recovered', sockets: SocketReport[], expected: number, run: PhaseRun) {
  const others = sockets.filter((s) => s.index !== STALLED);
  const measured = name === 'slow' ? others : sockets;
  const per = measured.map((s) => {
    const c = s.phases[name] ?? EMPTY;
    const p = percentiles([c]);
    return { index: s.index, events: c.events, within100: c.within100, share: expected > 0 ? c.within100 / expected : 0, p50: p?.p50 ?? null, p99: p?.p99 ?? null, overflows: c.overflows, dropped: c.dropped };
  });
  const p99s = per.map((d) => d.p99).filter((x): x is number => x !== null);
  const p50s = per.map((d) => d.p50).filter((x): x is number => x !== null);
  const shares = per.map((d) => d.share);
  const cpu = (a: ProcSample | undefined, b: ProcSample | undefined): number | null => (a && b ? cpuPercent(a, b) : null);
  const wall = run.to.at - run.from.at;
  const pooled = percentiles(measured.map((s) => s.phases[name] ?? EMPTY));
  const hubCpu = cpu(run.from.hub, run.to.hub);
  const benchUsed = run.to.bench.user + run.to.bench.system - run.from.bench.user - run.from.bench.system;
  return {
    windowMs: wall,
    expectedUpdates: expected,
    loadAckedPerSec: run.ackedPerSec,
    dashboards: measured.length,
    pooled,
    /** Hub CPU time over the phase ÷ frames the measured dashboards got for it: the fan-out's cost per frame, ingest included. */
    hubCpuUsPerFrame: hubCpu !== null && pooled ? (hubCpu / 100) * wall * 1000 / pooled.count : null,
    perDashboard: {
      p50: { median: median(p50s), max: p50s.length ? Math.max(...p50s) : null },
      /** Median p99 of the dashboards other than the one that stalls: the isolation target compares these. */
      othersP99Median: median(per.filter((d) => d.index !== STALLED).flatMap((d) => (d.p99 === null ? [] : [d.p99]))),
      p99: { median: median(p99s), min: p99s.length ? Math.min(...p99s) : null, max: p99s.length ? Math.max(...p99s) : null },
      shareWithin100ms: { pooled: per.reduce((n, d) => n + d.within100, 0) / Math.max(1, expected * measured.length), min: shares.length ? Math.min(...shares) : 0 },
      overflows: per.reduce((n, d) => n + d.overflows, 0),
      list: per,
    },
    cpuPercent: {
      hub: hubCpu,
      load: cpu(run.from.load, run.to.load),
      dashboards: run.from.dashboards.map((f, i) => cpu(f, run.to.dashboards[i])),
      bench: (benchUsed / 1000 / wall) * 100,
    },
    machinePressure: pressureShare(run.from.pressure, run.to.pressure),
  };
}

function buildResult(input: BuildInput) {
  const { reports, options } = input;
  const sockets = reports.flatMap((r) => r.sockets);
  const expected = (phase: string): number => Math.max(0, ...reports.map((r) => r.distinct[phase] ?? 0));
  const baseline = phaseFigures('baseline', sockets, expected('baseline'), input.phases.baseline);
  const aa = phaseFigures('aa', sockets, expected('aa'), input.phases.aa);
  const slow = phaseFigures('slow', sockets, expected('slow'), input.phases.slow);
  const recovered = phaseFigures('recovered', sockets, expected('recovered'), input.phases.recovered);
  const stalled = sockets.find((s) => s.index === STALLED);
  const stalledAll = Object.values(stalled?.phases ?? {});
  const a1 = baseline.perDashboard.othersP99Median;
  const a2 = aa.perDashboard.othersP99Median;
  const p99Base = a1 !== null && a2 !== null ? (a1 + a2) / 2 : null;
  const p99Slow = slow.perDashboard.othersP99Median;
  const p99Change = p99Base !== null && p99Slow !== null && p99Base > 0 ? (p99Slow - p99Base) / p99Base : null;
  // Nothing differs between the two A/A phases but time: their gap is this run's noise.
  const aaSpread = p99Base !== null && p99Base > 0 && a1 !== null && a2 !== null ? Math.abs(a2 - a1) / p99Base : null;
  const limit = aaSpread === null ? null : aaSpread + ISOLATION_MARGIN;
  const deliveredAll = (f: typeof baseline) => f.perDashboard.shareWithin100ms.min >= 1;
  return {
    options,
    note: 'publish→push is receive time (sub-ms) minus the payload t (whole ms, truncated): figures are up to 1 ms high, 0.5 ms on average. Updates are counted per phase by their t; expected = distinct (device, t) pairs any dashboard saw.',
    phases: { baseline, aa, slow, recovered },
    stalledDashboard: {
      index: STALLED,
      hubCoalescingAfterMs: input.filledMs,
      connectedThroughSlowPhase: input.stalledConnected,
      caughtUpAfterResumeMs: input.caughtUpMs,
      hubDroppedForSlowDashboards: input.droppedHub,
      afterResume: { overflowNotices: stalledAll.reduce((n, c) => n + c.overflows, 0), droppedReported: stalledAll.reduce((n, c) => n + c.dropped, 0) },
    },
    targets: {
      delivery: { target: `every update on every dashboard within ${DELIVERY_MS} ms (delivered or coalesced)`, baselineMet: deliveredAll(baseline), slowMet: deliveredAll(slow), recoveredMet: deliveredAll(recovered) },
      isolation: {
        target: `the other dashboards' p99 (median over dashboards) moves from the A/A mean by ≤ the A/A spread + ${ISOLATION_MARGIN * 100} %`,
        p99AMs: a1,
        p99A2Ms: a2,
        p99BaselineMs: p99Base,
        p99SlowMs: p99Slow,
        p99RecoveredMs: recovered.perDashboard.othersP99Median,
        change: p99Change,
        aaSpread,
        limit,
        met: p99Change !== null && limit !== null && p99Change <= limit,
      },
    },
    hub: { peakRssBytes: input.hubPeakRss, logs: input.hubLogs },
    dashboardProcesses: reports.map((r) => ({ sockets: r.sockets.length, cpuMsTotal: r.cpuMs })),
    load: input.loadReport,
  };
}

type FanoutResult = ReturnType<typeof buildResult>;

const signedPct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;

export function fanoutRows(r: FanoutResult): ScoreRow[] {
  const iso = r.targets.isolation;
  const d = r.targets.delivery;
  return [
    {
      what: 'fanout: others\' p99 while one dashboard stalls, change from the A/A mean',
      figure: iso.change === null ? '-' : signedPct(iso.change),
      peer: iso.aaSpread === null ? '' : `A/A spread ${(iso.aaSpread * 100).toFixed(1)} %`,
      ratio: null,
      target: `≤ A/A spread + ${ISOLATION_MARGIN * 100} %`,
      verdict: iso.change === null || iso.limit === null ? 'no figure' : iso.met ? 'met' : 'missed',
    },
    {
      what: `fanout: every update on every dashboard within ${DELIVERY_MS} ms (A, slow, recovered)`,
      figure: [r.phases.baseline, r.phases.slow, r.phases.recovered].map((x) => `${(x.perDashboard.shareWithin100ms.min * 100).toFixed(2)} %`).join(' / '),
      peer: '',
      ratio: null,
      target: 'worst dashboard 100 %',
      verdict: d.baselineMet && d.slowMet && d.recoveredMet ? 'met' : 'missed',
    },
  ];
}

function formatFanout(r: FanoutResult, machine: MachineInfo): string {
  const b = r.phases.baseline;
  const s = r.phases.slow;
  const a = r.phases.recovered;
  const lat = (p: Percentiles | null) => (p ? `${ms(p.p50)} / ${ms(p.p99)}` : '-');
  const both = (f: (x: typeof b) => string) => `${f(b)}  |  ${f(s)}  |  ${f(a)}`;
  const share = (x: number) => `${(x * 100).toFixed(2)} %`;
  const cpus = (x: typeof b) => `hub ${x.cpuPercent.hub === null ? '-' : pct(x.cpuPercent.hub)}, load ${x.cpuPercent.load === null ? '-' : pct(x.cpuPercent.load)}, dashboards ${x.cpuPercent.dashboards.map((c) => (c === null ? '-' : pct(c))).join(' + ')}, bench ${pct(x.cpuPercent.bench)}`;
  const iso = r.targets.isolation;
  const title = `fanout: ${int(r.options.devices)} devices at 1 Hz, ${r.options.dashboards} dashboards (${r.options.procs} processes), ${r.options.windowMs / 1000} s per phase (${machine.cores} cores, Node ${machine.node})`;
  const sd = r.stalledDashboard;
  const seconds = (x: number | null, none: string) => (x === null ? none : `${(x / 1000).toFixed(1)} s`);
  const connected = sd.connectedThroughSlowPhase === null ? '' : sd.connectedThroughSlowPhase ? ', still connected at its end' : ', NOT connected at its end (the hub closed it)';

  return `${title}\n                                              baseline (all read)  |  slow (dashboard ${sd.index} stalled; the others)  |  recovered (all read again)\n${table([
    ['updates published (acked/s)', both((x) => `${int(x.expectedUpdates)} (${int(x.loadAckedPerSec)}/s)`)],
    ['publish→push p50 / p99, all events', both((x) => lat(x.pooled))],
    ['per-dashboard p50: median / worst', both((x) => `${ms(x.perDashboard.p50.median ?? undefined)} / ${ms(x.perDashboard.p50.max ?? undefined)}`)],
    ['per-dashboard p99: median / worst', both((x) => `${ms(x.perDashboard.p99.median ?? undefined)} / ${ms(x.perDashboard.p99.max ?? undefined)}`)],
    ['within 100 ms: all / worst dashboard', both((x) => `${share(x.perDashboard.shareWithin100ms.pooled)} / ${share(x.perDashboard.shareWithin100ms.min)}`)],
    ['CPU (100 % = one core)', both(cpus)],
    ['hub CPU per frame delivered', both((x) => (x.hubCpuUsPerFrame === null ? '-' : `${x.hubCpuUsPerFrame.toFixed(2)} µs`))],
    ['machine waiting for CPU', both((x) => (x.machinePressure ? pct(x.machinePressure.cpuSome) : '-'))],
    ['stalled dashboard', `hub coalescing after ${seconds(sd.hubCoalescingAfterMs, 'never')}${connected}, ${int(sd.hubDroppedForSlowDashboards)} events replaced; after resuming: caught up in ${seconds(sd.caughtUpAfterResumeMs, 'over 15 s')}, ${sd.afterResume.overflowNotices} overflow notice(s), dropped ${int(sd.afterResume.droppedReported)}`],
    ['target: all within 100 ms', `${r.targets.delivery.baselineMet ? 'met' : 'missed'}  |  ${r.targets.delivery.slowMet ? 'met' : 'missed'}  |  ${r.targets.delivery.recoveredMet ? 'met' : 'missed'}`],
    ['A/A: others\' p99, A / A again', `${ms(iso.p99AMs ?? undefined)} / ${ms(iso.p99A2Ms ?? undefined)}: spread ${iso.aaSpread === null ? '-' : `${(iso.aaSpread * 100).toFixed(1)} %`}`],
    ['target: others\' p99 moves ≤ A/A spread + 10 %', `A/A mean ${ms(iso.p99BaselineMs ?? undefined)} → slow ${ms(iso.p99SlowMs ?? undefined)} (${iso.change === null ? '-' : signedPct(iso.change)}; limit ${iso.limit === null ? '-' : signedPct(iso.limit)}): ${iso.met ? 'met' : 'missed'}; recovered ${ms(iso.p99RecoveredMs ?? undefined)}`],
    ['hub peak RSS, warn / error lines', `${mb(r.hub.peakRssBytes)}, ${r.hub.logs.warn} / ${r.hub.logs.error}`],
  ])}\n  (publish→push: receive time minus the payload's whole-ms t: up to 1 ms high)${contended([b.machinePressure, s.machinePressure, a.machinePressure])}`;
}

/** A warning when other work held the machine's CPUs: then the targets are not judged by this run. */
function contended(pressures: readonly ({ cpuSome: number } | null)[]): string {
  const worst = Math.max(0, ...pressures.map((p) => p?.cpuSome ?? 0));
  return worst > 50 ? `\n  WARNING: some task on the machine waited for a CPU ${pct(worst)} of the time (other work, or this run wanting more than the cores): compare runs on a quiet machine before judging the targets` : '';
}
