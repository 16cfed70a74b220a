/**
 * latency benchmark (issue 23): at paced rates that match real fleets
 * (2,000, 5,000 and 10,000 msgs/s, as many QoS 1 devices as msgs/s, each
 * sending once a second), the hub's publish → PUBACK and publish →
 * dashboard socket, and Mosquitto's publish → subscriber, measured in the
 * same run with the same load generator and payload, back to back per rate.
 *
 * Both live paths are timed the same way: receive time minus the payload's
 * `t` (whole epoch ms from the load process, so up to 1 ms high on both
 * sides). Mosquitto (tuned: TCP_NODELAY, as the hub's sockets) feeds one
 * QoS 0 subscriber on devices/+/telemetry, the counterpart of a dashboard
 * socket, which has no acknowledgement either.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { provisionDevices, writeCredentialsFile, type LatencySummary } from '@iot-hub/device-sim';
import { DashboardChild, percentiles, type Percentiles } from './lib/dashboard-children.js';
import { BenchUsageError, durationFlag, parseFlags, sleep } from './lib/flags.js';
import { int, mb, ms, pct } from './lib/format.js';
import { columns } from './lib/columns.js';
import { defineBenchmark, type BenchContext, type Measured } from './lib/harness.js';
import { startHubProcess, type HubProcess } from './lib/hub-process.js';
import { loadDeviceIds, startLoadProcess } from './lib/load-process.js';
import { MqttSubscriber } from './lib/mqtt-subscriber.js';
import { startMosquitto } from './lib/peers/mosquitto.js';
import { cpuPercent, ProcSampler } from './lib/proc-stats.js';
import { boundRow, printedRow, ratioRow, type ScoreRow } from './lib/scoreboard.js';

const HELP = `npm run bench -- latency [options]

  --rates LIST     paced msgs/s, one device per msg/s (default 2000,5000,10000)
  --window D       measured window per rate and system (default 15s)
  --warmup D       paced load before each window (default 5s)
  --hub-arg ARG    extra hub flag, repeatable
  --keep-data      keep the temp dir (hub data, hub.log, load logs)
`;

/** Issue 23's targets: at TARGET_RATE, PUBACK p99 and dashboard p99; at every rate, hub dashboard p99 ÷ Mosquitto's. */
export const TARGET_RATE = 5000;
export const TARGETS = { pubackP99Ms: 20, dashboardP99Ms: 10, overMosquitto: 3 } as const;

interface LatencyOptions {
  rates: number[];
  windowMs: number;
  warmupMs: number;
  hubArgs: string[];
  keepData: boolean;
}

function parse(argv: readonly string[]): LatencyOptions | 'help' {
  const v = parseFlags(argv, {
    rates: { type: 'string' },
    window: { type: 'string' },
    warmup: { type: 'string' },
    'hub-arg': { type: 'string', multiple: true },
    'keep-data': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) return 'help';
  const rates = (v.rates ?? '2000,5000,10000').split(',').map((x) => x.trim());
  if (rates.some((r) => !/^\d+$/.test(r) || Number(r) < 1)) throw new BenchUsageError(`--rates must be whole msgs/s ≥ 1, comma separated, got "${v.rates}"`);
  return {
    rates: rates.map(Number),
    windowMs: durationFlag('window', v.window, '15s'),
    warmupMs: durationFlag('warmup', v.warmup, '5s'),
    hubArgs: v['hub-arg'] ?? [],
    keepData: v['keep-data'] ?? false,
  };
}

type Latency = Pick<Percentiles, 'count' | 'p50' | 'p99' | 'max'>;

/** One system at one rate. */
interface SystemRun {
  ackedPerSec: number;
  /** Publish → PUBACK over the load process's whole run (warm-up included). */
  puback: Latency | null;
  /** Publish → dashboard socket (hub) or → subscriber (Mosquitto), over the window. */
  live: Latency | null;
  cpuPercent: { server: number | null; load: number | null };
}

interface RateRun {
  rate: number;
  hub: SystemRun;
  mosquitto: SystemRun;
}

const pick = (s: LatencySummary | Percentiles | null | undefined): Latency | null => (s ? { count: s.count, p50: s.p50, p99: s.p99, max: s.max } : null);

async function measure(options: LatencyOptions, ctx: BenchContext): Promise<Measured> {
  const adminToken = randomBytes(24).toString('hex');
  const hub = await startHubProcess({ dataDir: join(ctx.workDir, 'data'), adminToken, logFile: join(ctx.workDir, 'hub.log'), logLevel: 'warn', extraArgs: options.hubArgs });
  const dash = new DashboardChild();
  const hubSampler = new ProcSampler(hub.pid);
  hubSampler.start(1000);
  try {
    ctx.log(`hub pid ${hub.pid} at ${hub.httpUrl}`);
    await dash.request({ op: 'connect', httpUrl: hub.httpUrl, adminToken, sockets: 1, firstIndex: 0 }, 'ready');
    const runs: RateRun[] = [];
    for (const rate of options.rates) {
      // Ids are padded to the width of the device count: each rate has devices of its own.
      const prefix = `lat${rate}-`;
      const ids = loadDeviceIds(prefix, rate);
      const devices = await provisionDevices({ hubUrl: hub.httpUrl, adminToken, devices: ids.map((id) => ({ id, kind: 'load-sensor' })), concurrency: 100 });
      const hubCredentials = join(ctx.workDir, `hub-${rate}.json`);
      const peerCredentials = join(ctx.workDir, `peer-${rate}.json`);
      await writeCredentialsFile(hubCredentials, devices);
      await writeCredentialsFile(peerCredentials, ids.map((id) => ({ id, token: 'bench', kind: 'load-sensor' })));
      ctx.log(`${int(rate)} msgs/s: ${int(rate)} devices provisioned; the hub first, then Mosquitto`);
      const hubRun = await runHub(options, ctx, { hub, sampler: hubSampler }, dash, rate, prefix, hubCredentials);
      const mosquittoRun = await runMosquitto(options, ctx, rate, prefix, peerCredentials);
      runs.push({ rate, hub: hubRun, mosquitto: mosquittoRun });
      ctx.log(`${int(rate)} msgs/s: hub PUBACK p99 ${ms(hubRun.puback?.p99)}, dashboard p99 ${ms(hubRun.live?.p99)}; Mosquitto subscriber p99 ${ms(mosquittoRun.live?.p99)}`);
    }
    const result = { runs, hub: { peakRssBytes: hubSampler.peakRssBytes, logs: hub.logs } };
    return { result, rows: latencyRows(runs), text: formatLatency(options, ctx, result) };
  } finally {
    hubSampler.stop();
    await dash.stop();
    const ended = await hub.stop();
    if (ended.killed) ctx.log('the hub did not stop within 15 s of SIGTERM: killed');
  }
}

async function runHub(options: LatencyOptions, ctx: BenchContext, { hub, sampler }: { hub: HubProcess; sampler: ProcSampler }, dash: DashboardChild, rate: number, prefix: string, credentialsFile: string): Promise<SystemRun> {
  const load = startLoadProcess({ hubUrl: hub.httpUrl, mqttUrl: hub.mqttUrl, credentialsFile, devices: rate, idPrefix: prefix, rate, maxDurationMs: options.warmupMs + options.windowMs + 120_000, logFile: join(ctx.workDir, `load-hub-${rate}.log`) });
  try {
    await load.publishing;
    const loadSampler = new ProcSampler(load.pid);
    await sleep(options.warmupMs);
    const phase = `rate-${rate}`;
    const from = { at: Date.now(), hub: sampler.sample(), load: loadSampler.sample(), acked: load.lastProgress?.acked ?? 0 };
    dash.send({ op: 'phase', name: phase, fromT: from.at });
    await sleep(options.windowMs);
    const to = { at: Date.now(), hub: sampler.sample(), load: loadSampler.sample(), acked: load.lastProgress?.acked ?? 0 };
    dash.send({ op: 'end', atT: to.at });
    await sleep(1500); // late events still count, by their `t`
    const stopped = await load.stop();
    const counts = (await dash.report()).sockets[0]?.phases[phase];
    return {
      ackedPerSec: ((to.acked - from.acked) * 1000) / (to.at - from.at),
      puback: pick(stopped.report?.ackLatencyMs),
      live: counts ? pick(percentiles([counts])) : null,
      cpuPercent: { server: from.hub && to.hub ? cpuPercent(from.hub, to.hub) : null, load: from.load && to.load ? cpuPercent(from.load, to.load) : null },
    };
  } finally {
    await load.stop(5000);
  }
}

async function runMosquitto(options: LatencyOptions, ctx: BenchContext, rate: number, prefix: string, credentialsFile: string): Promise<SystemRun> {
  const peer = await startMosquitto({ tuned: true });
  const peerSampler = new ProcSampler(peer.pid);
  let sub: MqttSubscriber | undefined;
  const load = startLoadProcess({ mqttUrl: peer.url, credentialsFile, devices: rate, idPrefix: prefix, rate, maxDurationMs: options.warmupMs + options.windowMs + 120_000, logFile: join(ctx.workDir, `load-mosquitto-${rate}.log`) });
  try {
    sub = await MqttSubscriber.connect({ url: peer.url, topic: 'devices/+/telemetry', qos: 0 });
    await load.publishing;
    const loadSampler = new ProcSampler(load.pid);
    await sleep(options.warmupMs);
    const from = { at: Date.now(), server: peerSampler.sample(), load: loadSampler.sample(), acked: load.lastProgress?.acked ?? 0, count: sub.latency.count };
    await sleep(options.windowMs);
    const to = { at: Date.now(), server: peerSampler.sample(), load: loadSampler.sample(), acked: load.lastProgress?.acked ?? 0 };
    const live = pick(sub.latency.summary(from.count));
    const stopped = await load.stop();
    return {
      ackedPerSec: ((to.acked - from.acked) * 1000) / (to.at - from.at),
      puback: pick(stopped.report?.ackLatencyMs),
      live,
      cpuPercent: { server: from.server && to.server ? cpuPercent(from.server, to.server) : null, load: from.load && to.load ? cpuPercent(from.load, to.load) : null },
    };
  } finally {
    await load.stop(5000);
    sub?.close();
    await peer.stop();
  }
}

const msOf = (n: number): string => `${n.toFixed(1)} ms`;

export function latencyRows(runs: readonly RateRun[]): ScoreRow[] {
  const rows: ScoreRow[] = [];
  const atTarget = runs.find((r) => r.rate === TARGET_RATE);
  rows.push(boundRow(`latency ${int(TARGET_RATE)} msgs/s: publish → PUBACK p99`, atTarget?.hub.puback?.p99 ?? null, msOf, { atMost: TARGETS.pubackP99Ms }));
  rows.push(boundRow(`latency ${int(TARGET_RATE)} msgs/s: publish → dashboard p99`, atTarget?.hub.live?.p99 ?? null, msOf, { atMost: TARGETS.dashboardP99Ms }));
  for (const r of runs) {
    rows.push(ratioRow(`latency ${int(r.rate)} msgs/s: dashboard p99 vs Mosquitto publish → subscriber p99`, r.hub.live?.p99 ?? null, r.mosquitto.live?.p99 ?? null, 'Mosquitto', msOf, { atMost: TARGETS.overMosquitto }));
    if (r.rate !== TARGET_RATE) rows.push(printedRow(`latency ${int(r.rate)} msgs/s: publish → PUBACK p99`, r.hub.puback ? msOf(r.hub.puback.p99) : '-', r.mosquitto.puback ? `Mosquitto ${msOf(r.mosquitto.puback.p99)}` : '', null, `judged at ${int(TARGET_RATE)} msgs/s only`));
  }
  return rows;
}

function formatLatency(options: LatencyOptions, ctx: BenchContext, r: { runs: RateRun[]; hub: { peakRssBytes: number; logs: { warn: number; error: number } } }): string {
  const three = (l: Latency | null): string => (l ? `${l.p50.toFixed(1)} / ${l.p99.toFixed(1)} / ${l.max.toFixed(1)}` : '-');
  const cpu = (n: number | null): string => (n === null ? '-' : pct(n));
  const table = columns(
    ['rate', 'system', 'acked/s', 'PUBACK p50 / p99 / max ms', 'live p50 / p99 / max ms', 'server CPU', 'load CPU'],
    r.runs.flatMap((run) => ([['hub', run.hub], ['Mosquitto', run.mosquitto]] as const).map(([name, s]) => [
      int(run.rate), name, int(s.ackedPerSec), three(s.puback), three(s.live), cpu(s.cpuPercent.server), cpu(s.cpuPercent.load),
    ])),
  );
  return `latency: paced QoS 1, one device per msg/s; live = hub dashboard socket / Mosquitto QoS 0 subscriber; ` +
    `${options.windowMs / 1000} s window each (${ctx.machine.cores} cores, Node ${ctx.machine.node})\n${table}\n` +
    `  PUBACK over each load run, warm-up included; live over the window, from the payload's whole-ms t (up to 1 ms high on both sides)\n` +
    `  hub peak RSS ${mb(r.hub.peakRssBytes)}, warn / error log lines ${r.hub.logs.warn} / ${r.hub.logs.error}`;
}

export const latency = defineBenchmark({
  name: 'latency',
  description: 'paced 2,000 / 5,000 / 10,000 msgs/s (devices at 1 Hz): hub publish → PUBACK and → dashboard vs Mosquitto publish → subscriber',
  help: HELP,
  parse,
  measure,
});
