/**
 * Ingest benchmark: the hub as a child process (SQLite store), one dashboard
 * socket subscribed to all telemetry, N provisioned MQTT devices publishing
 * QoS 1 flat out through device-sim's load mode. Measures what was sent,
 * acknowledged and stored (read back through the history API), the rates,
 * publish → PUBACK and publish → dashboard latency, the hub's CPU and peak
 * RSS from /proc, and the load generator's own CPU.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HubApi, mapConcurrent, provisionDevices, runLoad, type LoadReport } from '@iot-hub/device-sim';
import { formatProfile, summariseProfile } from './lib/cpu-profile.js';
import { DashboardProbe } from './lib/dashboard-probe.js';
import { int, mb, ms, pct, table } from './lib/format.js';
import { startHubProcess } from './lib/hub-process.js';
import { machineInfo } from './lib/machine.js';
import { cpuPercent, ProcSampler, type ProcSample } from './lib/proc-stats.js';
import { BenchUsageError, benchLog, durationFlag, parseFlags, sleep, wholeFlag } from './lib/flags.js';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export const INGEST_HELP = `npm run bench -- ingest [options]

  --devices N          MQTT devices (default 1000)
  --duration D         publishing window: 15s, 1m (default 15s)
  --inflight K         QoS 1 messages in flight per device (default 4)
  --qos 0|1            (default 1)
  --rate N             aggregate msgs/s instead of flat out
  --settle-timeout D   longest wait for the store and the dashboard to catch up (default 60s)
  --hub-arg ARG        extra hub flag, repeatable (e.g. --hub-arg=--log-level --hub-arg=warn)
  --keep-data          keep the hub's temp data dir and log
  --no-dashboard       no dashboard socket (shows what live fan-out costs)
  --hub-profile        run the hub with --cpu-prof and print where its CPU went
                       (costs the hub some CPU: compare runs with the same setting)
`;

interface IngestOptions {
  devices: number;
  durationMs: number;
  inflight: number;
  qos: 0 | 1;
  rate: number | undefined;
  settleTimeoutMs: number;
  hubArgs: string[];
  keepData: boolean;
  hubProfile: boolean;
  dashboard: boolean;
}

export function parseIngestArgs(argv: readonly string[]): IngestOptions | 'help' {
  const values = parseFlags(argv, {
        devices: { type: 'string' },
        duration: { type: 'string' },
        inflight: { type: 'string' },
        qos: { type: 'string' },
        rate: { type: 'string' },
        'settle-timeout': { type: 'string' },
        'hub-arg': { type: 'string', multiple: true },
        'keep-data': { type: 'boolean' },
        'hub-profile': { type: 'boolean' },
        'no-dashboard': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      });
  if (values.help) return 'help';
  if (values.qos !== undefined && values.qos !== '0' && values.qos !== '1') throw new BenchUsageError(`--qos must be 0 or 1, got "${values.qos}"`);
  return {
    devices: wholeFlag('devices', values.devices, 1000),
    durationMs: durationFlag('duration', values.duration, '15s'),
    inflight: wholeFlag('inflight', values.inflight, 4),
    qos: values.qos === '0' ? 0 : 1,
    rate: values.rate === undefined ? undefined : wholeFlag('rate', values.rate, 0),
    settleTimeoutMs: durationFlag('settle-timeout', values['settle-timeout'], '60s'),
    hubArgs: values['hub-arg'] ?? [],
    keepData: values['keep-data'] ?? false,
    hubProfile: values['hub-profile'] ?? false,
    dashboard: !(values['no-dashboard'] ?? false),
  };
}

const log = benchLog('ingest');

/** Runs the benchmark; returns the process exit code (1 when acknowledged messages are missing from the store). */
export async function runIngest(argv: readonly string[]): Promise<number> {
  const options = parseIngestArgs(argv);
  if (options === 'help') {
    process.stdout.write(INGEST_HELP);
    return 0;
  }
  const machine = machineInfo();
  const startedAt = new Date();
  const workDir = mkdtempSync(join(tmpdir(), 'iot-hub-bench-'));
  const adminToken = randomBytes(24).toString('hex');
  const logFile = join(workDir, 'hub.log');
  log(`hub data dir and log: ${workDir}`);

  const profileDir = join(workDir, 'profile');
  const hub = await startHubProcess({
    dataDir: join(workDir, 'data'),
    adminToken,
    logFile,
    extraArgs: options.hubArgs,
    nodeArgs: options.hubProfile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
  });
  const sampler = new ProcSampler(hub.pid);
  sampler.start(1000);
  const probe = new DashboardProbe();
  let exitCode = 0;
  let resultFile: string | undefined;
  try {
    log(`hub pid ${hub.pid} at ${hub.httpUrl} and ${hub.mqttUrl}`);
    if (options.dashboard) await probe.connect(hub.httpUrl, adminToken);

    const ids = Array.from({ length: options.devices }, (_, i) => `bench-${String(i + 1).padStart(String(options.devices).length, '0')}`);
    const provisionStart = Date.now();
    const devices = await provisionDevices({
      hubUrl: hub.httpUrl,
      adminToken,
      devices: ids.map((id) => ({ id, kind: 'load-sensor' })),
      concurrency: 100,
    });
    const provisionMs = Date.now() - provisionStart;
    log(`provisioned ${devices.length} devices in ${(provisionMs / 1000).toFixed(1)} s`);

    const marks: Partial<Record<'connecting' | 'publishing' | 'draining' | 'done', ProcSample>> = { connecting: sampler.sample() };
    const loadStartedAt = Date.now();
    const report = await runLoad({
      mqttUrl: hub.mqttUrl,
      devices,
      durationMs: options.durationMs,
      qos: options.qos,
      inflight: options.inflight,
      rate: options.rate,
      progress: (line) => process.stderr.write(`[ingest] ${line}\n`),
      onPhase: (phase) => {
        marks[phase] = sampler.sample();
      },
    });
    const drainedAt = Date.now();

    log('load done: waiting for the store and the dashboard to settle');
    const api = new HubApi(hub.httpUrl, adminToken);
    const settle = await settleStore(api, ids, report.acked, loadStartedAt, options.settleTimeoutMs);
    if (options.dashboard) await settleDashboard(probe, settle.stored, options.settleTimeoutMs);
    const settledSample = sampler.sample();
    sampler.stop();

    const result = buildResult({ options, machine, startedAt, report, settle, probe, hubLogs: hub.logs, sampler, marks, settledSample, provisionMs, drainedAt });
    process.stdout.write(`\n${formatResult(result)}\n`);
    mkdirSync(RESULTS_DIR, { recursive: true });
    resultFile = join(RESULTS_DIR, `ingest-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`\nJSON: ${resultFile}\n`);
    if (result.loss.ackedNotStored !== 0) {
      process.stderr.write(`[ingest] LOSS: ${result.loss.ackedNotStored} acknowledged messages are not in the store\n`);
      exitCode = 1;
    }
  } finally {
    probe.close();
    sampler.stop();
    const ended = await hub.stop();
    if (ended.killed) log('the hub did not stop within 15 s of SIGTERM: killed');
    if (options.hubProfile) reportProfile(profileDir, resultFile);
    if (options.keepData) log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  return exitCode;
}

/** Prints the hub's CPU profile summary and adds it to the JSON result. */
function reportProfile(dir: string, resultFile: string | undefined): void {
  const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined;
  if (!file) {
    log(`no CPU profile was written in ${dir} (the hub must exit normally to write one)`);
    return;
  }
  const summary = summariseProfile(join(dir, file));
  process.stdout.write(`\n${formatProfile(summary)}\n`);
  if (resultFile) {
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(resultFile, `${JSON.stringify({ ...result, hubProfile: summary }, null, 2)}\n`);
  }
}

interface Settled {
  stored: number;
  /** Stored count at the first read after the drain: equal to acked when PUBACK meant stored. */
  storedAtFirstRead: number;
  /** ms after the drain until the final count was first seen; 0 when it was there at the first read. */
  storeLagMs: number;
  reads: number;
}

/** Sums the stored samples of every device (history API, counts per bucket) until two reads agree. */
async function settleStore(api: HubApi, ids: readonly string[], acked: number, from: number, timeoutMs: number): Promise<Settled> {
  const drainEnd = Date.now();
  const read = async (): Promise<number> => {
    const counts = await mapConcurrent(ids, 32, async (id) => {
      const history = await api.history(id, { metric: 'temperature', from: from - 60_000, maxPoints: 1 });
      return history.series.reduce((n, s) => n + s.points.reduce((m, p) => m + p.count, 0), 0);
    });
    return counts.reduce((a, b) => a + b, 0);
  };
  const first = await read();
  let previous = first;
  let finalSeenAt = first >= acked ? drainEnd : Date.now();
  let reads = 1;
  for (;;) {
    if (Date.now() - drainEnd > timeoutMs) break;
    await sleep(1000);
    const now = await read();
    reads++;
    if (now !== previous) finalSeenAt = Date.now();
    const stable = now === previous;
    previous = now;
    if (stable && now >= acked) break;
    if (stable && Date.now() - finalSeenAt > 5000) break; // stuck below acked: that is loss, report it
  }
  return { stored: previous, storedAtFirstRead: first, storeLagMs: finalSeenAt - drainEnd, reads };
}

/** Waits until the dashboard saw every stored sample, or saw nothing new for 3 s. */
async function settleDashboard(probe: DashboardProbe, expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (probe.events + probe.dropped < expected && Date.now() < deadline && Date.now() - probe.lastEventAt < 3000) {
    await sleep(200);
  }
}

interface BuildInput {
  options: IngestOptions;
  machine: ReturnType<typeof machineInfo>;
  startedAt: Date;
  report: LoadReport;
  settle: Settled;
  probe: DashboardProbe;
  hubLogs: { warn: number; error: number; samples: string[] };
  sampler: ProcSampler;
  marks: Partial<Record<'connecting' | 'publishing' | 'draining' | 'done', ProcSample>>;
  settledSample: ProcSample | undefined;
  provisionMs: number;
  drainedAt: number;
}

function buildResult(input: BuildInput) {
  const { report, settle, probe, marks, sampler, options } = input;
  const between = (a: ProcSample | undefined, b: ProcSample | undefined) => (a && b ? cpuPercent(a, b) : null);
  const activeSec = (report.durationMs + report.drainMs) / 1000;
  const perDeviceSent = report.perDevice.map((d) => d.sent);
  return {
    benchmark: 'ingest',
    startedAt: input.startedAt.toISOString(),
    command: `npm run bench -- ingest ${process.argv.slice(3).join(' ')}`.trim(),
    machine: input.machine,
    options: { ...options, store: 'sqlite (default)' },
    provisioning: { devices: report.devices, ms: input.provisionMs },
    load: { ...report, perDevice: undefined, perDeviceSent: { min: Math.min(...perDeviceSent), max: Math.max(...perDeviceSent) } },
    counts: { sent: report.sent, acked: report.acked, failed: report.failed, stored: settle.stored, dashboardEvents: probe.events, dashboardDropped: probe.dropped },
    loss: {
      /** Must be 0: acknowledged means stored. Negative: stored but never acknowledged (lost PUBACKs). */
      ackedNotStored: report.acked - settle.stored,
      sentNotAcked: report.sent - report.acked,
      storedNotOnDashboard: options.dashboard ? settle.stored - probe.events : null,
    },
    rates: {
      sentPerSec: report.sentPerSec,
      ackedPerSec: report.ackedPerSec,
      storedPerSec: settle.stored / (activeSec + settle.storeLagMs / 1000),
    },
    store: { storedAtFirstRead: settle.storedAtFirstRead, storeLagMs: settle.storeLagMs, reads: settle.reads },
    latencyMs: {
      publishToPuback: report.ackLatencyMs,
      publishToDashboard: probe.latency.summary(),
    },
    hub: {
      cpuPercentConnecting: between(marks.connecting, marks.publishing),
      cpuPercentPublishing: between(marks.publishing, marks.done),
      cpuPercentSettling: between(marks.done, input.settledSample),
      peakRssBytes: sampler.peakRssBytes,
      logs: input.hubLogs,
      timeline: sampler.samples.map((s, i, all) => ({
        at: s.at,
        cpuPercent: i === 0 ? null : cpuPercent(all[i - 1] as ProcSample, s),
        rssBytes: s.rssBytes,
      })),
    },
    loadGenerator: { cpuPercentOfOneCore: report.cpu.percentOfOneCore, note: 'this process: load devices and the dashboard probe' },
  };
}

type IngestResult = ReturnType<typeof buildResult>;

export function formatResult(r: IngestResult): string {
  const o = r.options;
  const title =
    `ingest: ${int(r.load.connected)} MQTT devices, QoS ${o.qos}, ${o.inflight} in flight each, ` +
    `${o.rate ? `${int(o.rate)} msgs/s` : 'flat out'}, ${(r.load.durationMs / 1000).toFixed(1)} s ` +
    `(${r.machine.cores} cores, Node ${r.machine.node})`;
  const lat = r.latencyMs;
  const rows: [string, string][] = [
    ['sent', int(r.counts.sent)],
    ['acked (PUBACK)', int(r.counts.acked)],
    ['stored (history API)', int(r.counts.stored)],
    ['loss: acked − stored', `${int(r.loss.ackedNotStored)}${r.loss.ackedNotStored === 0 ? '  (ok)' : '  (LOSS)'}`],
    ['not acked: sent − acked', int(r.loss.sentNotAcked)],
    ['stored msgs/s', int(r.rates.storedPerSec)],
    ['publish→PUBACK p50 / p99', `${ms(lat.publishToPuback?.p50)} / ${ms(lat.publishToPuback?.p99)}`],
    ['publish→dashboard p50 / p99', `${ms(lat.publishToDashboard?.p50)} / ${ms(lat.publishToDashboard?.p99)}`],
    ['dashboard events (dropped)', r.options.dashboard ? `${int(r.counts.dashboardEvents)} (${int(r.counts.dashboardDropped)})` : 'no dashboard socket'],
    ['hub CPU while publishing', r.hub.cpuPercentPublishing === null ? '-' : `${pct(r.hub.cpuPercentPublishing)} (100 % = one core)`],
    ['hub peak RSS', mb(r.hub.peakRssBytes)],
    ['load generator CPU', pct(r.loadGenerator.cpuPercentOfOneCore)],
    ['hub warn / error log lines', `${r.hub.logs.warn} / ${r.hub.logs.error}`],
  ];
  return `${title}\n${table(rows)}`;
}
