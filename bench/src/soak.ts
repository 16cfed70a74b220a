#!/usr/bin/env node
/**
 * `npm run soak` (issues 8 and 23): one hour (--minutes) of steady QoS 1
 * load at 30 % of the hub's max ingest, while devices connect and
 * disconnect over MQTT and the WebSocket and one dashboard watches all
 * telemetry. Every interval prints the hub's RSS, heap, event-loop delay,
 * clients, acked msgs/s, PUBACK p99, connects and errors; the end judges
 * RSS and heap growth against the noise of the first ten minutes, checks
 * that nothing acknowledged was lost, and writes the whole timeline to
 * bench/results/soak.json.
 *
 * The hub and the load generator run as child processes (their CPU and
 * memory apart from this one); the churning devices and the dashboard
 * socket live in this process. Ctrl-C ends the run early and still reports.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provisionDevices, runLoad, writeCredentialsFile, type LoadReport } from '@iot-hub/device-sim';
import { finishRun, RESULTS_DIR, useQuickResults } from './lib/harness.js';
import { BenchUsageError, benchLog } from './lib/flags.js';
import { int } from './lib/format.js';
import { startHubProcess, type HubProcess } from './lib/hub-process.js';
import { startLoadProcess, type LoadProcess } from './lib/load-process.js';
import { machineInfo } from './lib/machine.js';
import { cpuPercent, ProcSampler, type ProcSample } from './lib/proc-stats.js';
import { Churn } from './lib/soak-churn.js';
import { afterDevicesLeft, readBack, type AfterLeft, type Readback } from './lib/soak-end.js';
import { SoakDashboardProbe } from './lib/soak-dashboard.js';
import { scrapeHub, type HubSnapshot } from './lib/soak-metrics.js';
import { publishedIngestRate } from './lib/ingest-rate.js';
import { CALIBRATION_MS, describeRate, parseSoakArgs, SOAK_HELP, SOAK_SHARE, type SoakOptions } from './lib/soak-options.js';
import type { ScoreRow } from './lib/scoreboard.js';
import { elapsed, formatSummary, growthBeyondNoise, median, progressLine, soakRows, verdict, type IntervalRecord } from './lib/soak-report.js';

const log = benchLog('soak');
const deviceIds = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(String(n).length, '0')}`);

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleepOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done);
  });
}

/** What `--quick` puts before the user's flags: a seconds-long check that the soak works, not a measurement. */
const QUICK = ['--minutes', '0.5', '--devices', '100', '--rate', '300', '--interval', '3s'];

async function main(all: readonly string[]): Promise<number> {
  const quick = all.includes('--quick');
  if (quick) useQuickResults();
  const argv = quick ? [...QUICK, ...all.filter((a) => a !== '--quick')] : all;
  let options: SoakOptions | 'help';
  try {
    options = parseSoakArgs(argv);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    process.stderr.write(`soak: ${err.message} (npm run soak -- --help lists the flags)\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(SOAK_HELP);
    return 0;
  }
  try {
    return await runSoak(options, argv);
  } catch (err) {
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function runSoak(options: SoakOptions, argv: readonly string[]): Promise<number> {
  const machine = machineInfo();
  const startedAt = new Date();
  const workDir = mkdtempSync(join(tmpdir(), 'iot-hub-soak-'));
  const dataDir = join(workDir, 'data');
  const adminToken = randomBytes(24).toString('hex');
  const stop = new AbortController();
  /** Child processes to kill on a second Ctrl-C. */
  const pids = new Set<number>();
  let signals = 0;
  const onSignal = (): void => {
    if (++signals === 1) {
      log('stopping early; a report follows if the steady phase had begun (press Ctrl-C again to quit at once)');
      stop.abort();
      return;
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (!options.keepData) rmSync(workDir, { recursive: true, force: true });
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  log(`hub data dir and logs: ${workDir}`);

  const hubs: HubProcess[] = [];
  const probe = new SoakDashboardProbe();
  let churn: Churn | undefined;
  let load: LoadProcess | undefined;
  let sampler: ProcSampler | undefined;
  try {
    const hub = await startHubProcess({ dataDir, adminToken, logFile: join(workDir, 'hub.log'), extraArgs: options.hubArgs });
    hubs.push(hub);
    pids.add(hub.pid);
    sampler = new ProcSampler(hub.pid);
    sampler.start(1000);
    log(`hub pid ${hub.pid} at ${hub.httpUrl} and ${hub.mqttUrl}`);

    const connectsPerSec = (options.devices * options.churnPercent) / 100;
    // A churning device stays away about as long as it stays connected.
    const poolSize = connectsPerSec > 0 ? Math.max(2, Math.ceil(connectsPerSec * (options.churnSessionMs / 1000) * 2)) : 0;
    const loadIds = deviceIds('soak-', options.devices);
    const churnIds = deviceIds('churn-', poolSize);
    const provisionStart = Date.now();
    const loadDevices = await provisionDevices({ hubUrl: hub.httpUrl, adminToken, devices: loadIds.map((id) => ({ id, kind: 'load-sensor' })), concurrency: 100 });
    const churnDevices = await provisionDevices({ hubUrl: hub.httpUrl, adminToken, devices: churnIds.map((id) => ({ id, kind: 'soak-churn' })), concurrency: 100 });
    const credentialsFile = join(workDir, 'load-devices.json');
    await writeCredentialsFile(credentialsFile, loadDevices);
    log(`provisioned ${int(loadIds.length)} load devices and a churn pool of ${int(poolSize)} in ${((Date.now() - provisionStart) / 1000).toFixed(1)} s`);
    await probe.connect(hub.httpUrl, adminToken);

    const rate = await findRate(options, hub, loadDevices, stop.signal);
    log(`load: ${int(rate.msgsPerSec)} msgs/s (${rate.source})`);
    churn = new Churn({ hubUrl: hub.httpUrl, mqttUrl: hub.mqttUrl, devices: churnDevices, connectsPerSec, sessionMs: options.churnSessionMs, wsShare: options.churnWsShare });
    if (connectsPerSec > 0) {
      log(`churn: ${connectsPerSec.toFixed(1)} connects/s (${options.churnPercent} % of ${int(options.devices)}/s), sessions of ${options.churnSessionMs / 1000} s, ` +
        `pool ${churn.poolSize('mqtt')} MQTT + ${churn.poolSize('ws')} WebSocket devices, alternately leaving cleanly and abruptly`);
    }

    if (stop.signal.aborted) throw new Error('stopped during setup');
    // Stored telemetry is counted from here: the flat-out measurement (if any) is over.
    const readFrom = Date.now();
    const baseline = await scrapeHub(hub.httpUrl, adminToken); // also resets the event-loop histogram
    load = startLoadProcess({
      hubUrl: hub.httpUrl,
      mqttUrl: hub.mqttUrl,
      credentialsFile,
      devices: options.devices,
      idPrefix: 'soak-',
      rate: rate.msgsPerSec,
      maxDurationMs: options.durationMs + 3_600_000,
      logFile: join(workDir, 'load.log'),
    });
    pids.add(load.pid);
    await Promise.race([load.publishing, sleepOrAbort(120_000, stop.signal)]);
    if (!load.lastProgress && !stop.signal.aborted) throw new Error('the load generator did not start publishing within 120 s');
    churn.start();
    const dashboardBefore = { events: probe.events, dropped: probe.dropped };
    const steady = await runSteady({ options, hub, adminToken, sampler, load, churn, probe, signal: stop.signal });

    log('steady phase over: devices leave, then the loss check');
    await churn.stop();
    const loadEnd = await load.stop();
    pids.delete(load.pid);
    load = undefined;
    if (!loadEnd.report) log(`the load generator ended without a report (code ${loadEnd.code}, signal ${loadEnd.signal}; see ${join(workDir, 'load.log')})`);
    const after = await afterDevicesLeft(hub, adminToken);
    const readback = await readBack({ hub, hubs, pids, dataDir, adminToken, workDir, hubArgs: options.hubArgs, ids: [...loadIds, ...churnIds], from: readFrom, acked: (loadEnd.report?.acked ?? 0) + churn.stats.telemetryAcked });
    sampler.stop();

    const result = buildResult({ options, machine, rate, steady, churn, connectsPerSec, poolSize, loadEnd, after, readback, baseline, hub, sampler, probe, dashboardBefore });
    const code = finishRun('soak', { startedAt, machine, command: 'npm run soak --' }, argv, options, { result: result.json, rows: result.rows, text: result.text, problems: result.problems });
    return code === 0 && steady.hubGone && !stop.signal.aborted ? 1 : code;
  } catch (err) {
    // A terminal's Ctrl-C during setup also stops the hub, so setup fails: that is the Ctrl-C, not a fault.
    if (!stop.signal.aborted) throw err;
    log(`stopped by Ctrl-C before the steady phase began: nothing to report (${err instanceof Error ? err.message : String(err)})`);
    return 130;
  } finally {
    await churn?.stop();
    if (load) await load.stop(5_000);
    probe.close();
    sampler?.stop();
    for (const h of hubs) {
      const ended = await h.stop();
      if (ended.killed) log(`hub pid ${h.pid} did not stop within 15 s of SIGTERM: killed`);
    }
    if (options.keepData) log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

interface Rate {
  msgsPerSec: number;
  source: string;
  calibration: Omit<LoadReport, 'perDevice'> | null;
}

/** --rate, else 30 % of the newest full-size flat-out ingest result, else 30 % of a short flat-out run now. */
async function findRate(options: SoakOptions, hub: HubProcess, devices: Parameters<typeof runLoad>[0]['devices'], signal: AbortSignal): Promise<Rate> {
  if (options.rate !== undefined) return { msgsPerSec: options.rate, source: '--rate', calibration: null };
  const newest = options.measureMax ? undefined : publishedIngestRate(RESULTS_DIR, 'sqlite');
  if (newest) return { msgsPerSec: Math.round(newest.storedPerSec * SOAK_SHARE), source: describeRate(SOAK_SHARE, newest.storedPerSec, `stored in ${newest.file}`), calibration: null };
  log(`${options.measureMax ? '--measure-max' : 'no flat-out ingest result in bench/results/'}: measuring the maximum first (${CALIBRATION_MS / 1000} s flat out, QoS 1, in this process)`);
  const report = await runLoad({ mqttUrl: hub.mqttUrl, devices, durationMs: CALIBRATION_MS, qos: 1, inflight: 4, signal, progress: (line) => log(`flat out: ${line}`) });
  if (signal.aborted) throw new Error('stopped during the flat-out measurement');
  const { perDevice: _perDevice, ...calibration } = report;
  return { msgsPerSec: Math.max(1, Math.round(report.ackedPerSec * SOAK_SHARE)), source: describeRate(SOAK_SHARE, report.ackedPerSec, `acked in a ${CALIBRATION_MS / 1000} s flat-out run just now`), calibration };
}

interface SteadyInput {
  options: SoakOptions;
  hub: HubProcess;
  adminToken: string;
  sampler: ProcSampler;
  load: LoadProcess;
  churn: Churn;
  probe: SoakDashboardProbe;
  signal: AbortSignal;
}

interface Steady {
  startedAt: number;
  endedAt: number;
  intervals: IntervalRecord[];
  snapshots: HubSnapshot[];
  /** Why the phase ended before --minutes, if it did. */
  endedEarly: string | null;
  hubGone: boolean;
}

/** The steady phase: one record and progress line per interval until --minutes pass, Ctrl-C, or a child process dies. */
async function runSteady(input: SteadyInput): Promise<Steady> {
  const { options, hub, adminToken, sampler, load, churn, probe, signal } = input;
  const loadSampler = new ProcSampler(load.pid);
  const intervals: IntervalRecord[] = [];
  const snapshots: HubSnapshot[] = [];
  const startedAt = Date.now();
  let prev = { at: startedAt, hub: sampler.sample(), load: loadSampler.sample(), cpu: process.cpuUsage(), loadAcked: load.lastProgress?.acked ?? 0, churnAcked: 0, dashboard: probe.events, deviceErrors: 0, progressLines: load.progress.length };
  const firstScrape = await scrapeHub(hub.httpUrl, adminToken);
  prev.deviceErrors = firstScrape?.deviceErrors ?? 0;
  let endedEarly: string | null = null;
  let hubGone = false;
  log(`steady phase: ${elapsed(options.durationMs / 1000)}, a line every ${options.intervalMs / 1000} s`);
  for (let n = 1; ; n++) {
    const due = startedAt + n * options.intervalMs;
    await sleepOrAbort(Math.min(due, startedAt + options.durationMs) - Date.now(), signal);
    const now = Date.now();
    const hubSample = sampler.sample();
    const loadSample = loadSampler.sample();
    const snap = await scrapeHub(hub.httpUrl, adminToken);
    if (snap) snapshots.push(snap);
    const cpu = process.cpuUsage(prev.cpu);
    const wallSec = (now - prev.at) / 1000;
    const loadAcked = load.lastProgress?.acked ?? prev.loadAcked;
    const errorsNow = churn.stats.errors + hub.logs.error + Math.max(0, (snap?.deviceErrors ?? prev.deviceErrors) - (firstScrape?.deviceErrors ?? 0));
    const record: IntervalRecord = {
      elapsedSec: (now - startedAt) / 1000,
      at: now,
      hubRssBytes: hubSample?.rssBytes ?? null,
      hubCpuPercent: hubSample && prev.hub ? cpuPercent(prev.hub, hubSample) : null,
      heapUsedBytes: snap?.heapUsedBytes ?? null,
      heapTotalBytes: snap?.heapTotalBytes ?? null,
      externalBytes: snap?.externalBytes ?? null,
      eventLoopLag: snap?.eventLoopLag ?? null,
      activeHandles: snap?.activeHandles ?? null,
      openFds: snap?.openFds ?? null,
      connections: snap?.connections ?? null,
      devicesOnline: snap?.devicesOnline ?? null,
      benchClients: (loadSample ? options.devices : 0) + churn.connected + 1,
      loadAckedPerSec: (loadAcked - prev.loadAcked) / wallSec,
      churnAckedPerSec: (churn.stats.telemetryAcked - prev.churnAcked) / wallSec,
      ackedPerSec: (loadAcked - prev.loadAcked + churn.stats.telemetryAcked - prev.churnAcked) / wallSec,
      churnConnects: churn.totalConnects,
      churnActive: churn.active,
      errors: errorsNow,
      dashboardEventsPerSec: (probe.events - prev.dashboard) / wallSec,
      dashboardLatency: probe.takeWindow(),
      pubackP99Ms: worst(load.progress.slice(prev.progressLines).map((p) => p.ackP99Ms)),
      loadCpuPercent: loadSample && prev.load ? cpuPercent(prev.load, loadSample) : null,
      benchCpuPercent: ((cpu.user + cpu.system) / 1000 / (wallSec * 1000)) * 100,
    };
    intervals.push(record);
    log(progressLine(record));
    prev = { at: now, hub: hubSample, load: loadSample, cpu: process.cpuUsage(), loadAcked, churnAcked: churn.stats.telemetryAcked, dashboard: probe.events, deviceErrors: snap?.deviceErrors ?? prev.deviceErrors, progressLines: load.progress.length };
    if (!hubSample) {
      hubGone = true;
      if (!signal.aborted) endedEarly = `the hub process exited after ${elapsed(record.elapsedSec)} (see its log)`;
      break;
    }
    if (!loadSample) {
      if (!signal.aborted) endedEarly = `the load generator exited after ${elapsed(record.elapsedSec)} (see load.log)`;
      break;
    }
    if (signal.aborted) {
      endedEarly = `Ctrl-C after ${elapsed(record.elapsedSec)} of ${elapsed(options.durationMs / 1000)}`;
      break;
    }
    if (now - startedAt >= options.durationMs) break;
  }
  return { startedAt, endedAt: Date.now(), intervals, snapshots, endedEarly, hubGone };
}

const worst = (values: readonly (number | null)[]): number | null => {
  const xs = values.filter((v): v is number => v !== null);
  return xs.length > 0 ? Math.max(...xs) : null;
};

interface BuildInput {
  options: SoakOptions;
  machine: ReturnType<typeof machineInfo>;
  rate: Rate;
  steady: Steady;
  churn: Churn;
  connectsPerSec: number;
  poolSize: number;
  loadEnd: Awaited<ReturnType<LoadProcess['stop']>>;
  after: AfterLeft;
  readback: Readback;
  baseline: HubSnapshot | undefined;
  hub: HubProcess;
  sampler: ProcSampler;
  probe: SoakDashboardProbe;
  /** The probe's counts when the steady phase began (the flat-out measurement, if any, came before). */
  dashboardBefore: { events: number; dropped: number };
}

function buildResult(input: BuildInput): { text: string; json: Record<string, unknown>; rows: ScoreRow[]; problems: string[] } {
  const { options, steady, churn, readback, sampler } = input;
  const steadySamples = sampler.samples.filter((s) => s.at >= steady.startedAt && s.at <= steady.endedAt);
  const rssGrowth = growthBeyondNoise(steadySamples.map((s) => ({ at: s.at, bytes: s.rssBytes })), steady.startedAt, steady.endedAt);
  const heapPoints = steady.snapshots.filter((s) => s.heapUsedBytes !== null).map((s) => ({ at: s.at, bytes: s.heapUsedBytes as number }));
  const heapGrowth = growthBeyondNoise(heapPoints, steady.startedAt, steady.endedAt);
  const pubackP99s = steady.intervals.map((r) => r.pubackP99Ms).filter((v): v is number => v !== null);
  const pubackP99 = { median: median(pubackP99s), worst: worst(pubackP99s) };
  const heaps = steady.intervals.map((r) => r.heapUsedBytes).filter((h): h is number => h !== null);
  const p99s = steady.intervals.map((r) => r.eventLoopLag?.p99Ms).filter((v): v is number => v !== undefined);
  const dashP99s = steady.intervals.map((r) => r.dashboardLatency?.p99).filter((v): v is number => v !== undefined);
  const cpus = steady.intervals.map((r) => r.hubCpuPercent).filter((v): v is number => v !== null);
  const loadAcked = input.loadEnd.report?.acked ?? 0;
  const acked = loadAcked + churn.stats.telemetryAcked;
  const loss = readback.stored === null ? null : acked - readback.stored;
  const steadySec = (steady.endedAt - steady.startedAt) / 1000;
  const afterSnap = input.after.snapshot;
  const afterText = afterSnap?.connections
    ? `${afterSnap.connections.mqtt + afterSnap.connections.ws} device connections, ${afterSnap.devicesOnline ?? '-'} devices online after ${(input.after.waitedMs / 1000).toFixed(1)} s` +
      (afterSnap.connections.mqtt + afterSnap.connections.ws === 0 && afterSnap.devicesOnline === 0 ? ' (ok)' : ' (should be 0: a leak of sessions or presence)') +
      `; handles ${afterSnap.activeHandles ?? '-'}, fds ${afterSnap.openFds ?? '-'}`
    : 'hub not reachable';
  const verdictText = verdict(rssGrowth, heapGrowth, (steady.endedAt - steady.startedAt) / 1000);
  const dashboard = { events: input.probe.events - input.dashboardBefore.events, dropped: input.probe.dropped - input.dashboardBefore.dropped };
  const first = steady.intervals[0];
  const last = steady.intervals[steady.intervals.length - 1];
  const summaryRss = { start: steadySamples[0]?.rssBytes ?? null, end: steadySamples[steadySamples.length - 1]?.rssBytes ?? null, peak: sampler.peakRssBytes };
  const text = formatSummary({
    title: `soak: ${int(options.devices)} MQTT devices at ${int(input.rate.msgsPerSec)} msgs/s (QoS 1), churn ${input.connectsPerSec.toFixed(1)} connects/s, ${elapsed(steadySec)} ` +
      `(${input.machine.cores} cores, Node ${input.machine.node})`,
    rss: summaryRss,
    heap: { start: first?.heapUsedBytes ?? null, end: last?.heapUsedBytes ?? null, peak: heaps.length ? Math.max(...heaps) : null },
    rssGrowth,
    heapGrowth,
    pubackP99,
    verdict: verdictText,
    eventLoopP99: { median: median(p99s), worst: p99s.length ? Math.max(...p99s) : null },
    hubCpuMean: cpus.length ? cpus.reduce((a, b) => a + b, 0) / cpus.length : null,
    acked: { load: loadAcked, churn: churn.stats.telemetryAcked },
    ackedPerSecMean: steadySec > 0 ? acked / steadySec : 0,
    targetRate: input.rate.msgsPerSec,
    puback: input.loadEnd.report?.ackLatencyMs ?? null,
    stored: readback.stored,
    storedNote: readback.note,
    churn: { connects: churn.totalConnects, mqtt: churn.stats.connects.mqtt, ws: churn.stats.connects.ws, leftClean: churn.stats.leftClean, leftAbrupt: churn.stats.leftAbrupt, skipped: churn.stats.skipped, errors: churn.stats.errors },
    dashboard: { ...dashboard, p99Median: median(dashP99s), p99Worst: dashP99s.length ? Math.max(...dashP99s) : null },
    after: afterText,
    handles: { start: first?.activeHandles ?? null, end: last?.activeHandles ?? null },
    fds: { start: first?.openFds ?? null, end: last?.openFds ?? null },
    hubLogs: input.hub.logs,
    endedEarly: steady.endedEarly,
  });
  const { perDevice: _perDevice, ...loadReport } = input.loadEnd.report ?? ({ perDevice: [] } as unknown as LoadReport);
  const json = {
    endedAt: new Date().toISOString(),
    rate: { msgsPerSec: input.rate.msgsPerSec, source: input.rate.source, calibration: input.rate.calibration },
    endedEarly: steady.endedEarly,
    steady: { startedAt: new Date(steady.startedAt).toISOString(), durationSec: steadySec },
    verdict: verdictText,
    memory: { rss: summaryRss, heapUsed: { start: first?.heapUsedBytes ?? null, end: last?.heapUsedBytes ?? null }, growthBeyondNoise: { rss: rssGrowth, heapUsed: heapGrowth } },
    pubackP99PerInterval: pubackP99,
    loss: {
      acked: { load: loadAcked, churn: churn.stats.telemetryAcked, total: acked },
      stored: readback.stored,
      storedHow: readback.note,
      readbackRestartedHub: readback.restarted,
      /** Must be 0; negative: stored but never acknowledged (a send cut off by a disconnect), which is allowed. */
      ackedNotStored: loss,
      /** Cross-check from /metrics: telemetry points written during the run ÷ 3 (every message carries 3 metrics). */
      pointsWrittenDiv3:
        !readback.restarted && input.baseline?.pointsWritten != null && afterSnap?.pointsWritten != null ? (afterSnap.pointsWritten - input.baseline.pointsWritten) / 3 : null,
    },
    churn: { connectsPerSec: input.connectsPerSec, sessionMs: options.churnSessionMs, pool: { mqtt: churn.poolSize('mqtt'), ws: churn.poolSize('ws') }, ...churn.stats },
    load: { report: input.loadEnd.report ? loadReport : null, exit: { code: input.loadEnd.code, signal: input.loadEnd.signal } },
    dashboard: { ...dashboard, overflowsSinceConnect: input.probe.overflows },
    afterDevicesLeft: input.after,
    hubLogs: input.hub.logs,
    timeline: steady.intervals,
    hubProcess: sampler.samples.map((s, i, all) => ({ at: s.at, cpuPercent: i === 0 ? null : cpuPercent(all[i - 1] as ProcSample, s), rssBytes: s.rssBytes })),
  };
  const problems = loss !== null && loss > 0 ? [`LOSS: ${int(loss)} acknowledged messages are not in the store`] : [];
  return { text, json, rows: soakRows({ rss: rssGrowth, heap: heapGrowth, lost: loss === null ? null : Math.max(0, loss), pubackP99 }), problems };
}

process.exitCode = await main(process.argv.slice(2));
