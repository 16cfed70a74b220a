/**
 * InfluxDB benchmark: one throwaway influxd, measured twice in the same run.
 *
 *   1. bare writer   pre-built line-protocol batches of 5,000 points POSTed
 *                    straight to influxd (precision=ms, a few requests in
 *                    flight): the ceiling of this machine
 *   2. hub           the hub as a child process with --store influx, 1,000
 *                    MQTT devices from device-sim's runLoad (QoS 1, 3 points
 *                    per message); points landed in InfluxDB counted with
 *                    InfluxQL at the start and end of the publishing window
 *
 * Also: write POSTs per 10k points (the hub's /healthz counters, checked
 * against influxd's own httpd writeReq statistic), and publish→queryable
 * latency of a probe device publishing every --probe-interval while a
 * poller queries InfluxDB for its values.
 *
 * Judged (issue 23): POSTs per 10k points ≤ 3 and publish→queryable p99 ≤
 * 1.25 s. The hub's points/s against the bare writer is printed only: it is
 * bounded by MQTT ingest, not by the writer.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { HealthResponse } from '@iot-hub/protocol';
import { LatencyRecorder, provisionDevices, runLoad, type LatencySummary, type LoadReport } from '@iot-hub/device-sim';
import { defineBenchmark } from './lib/harness.js';
import { boundRow, printedRow, type ScoreRow } from './lib/scoreboard.js';
import { int, ms, pct, table } from './lib/format.js';
import { formatProfile, summariseProfile, mainThreadProfile } from './lib/cpu-profile.js';
import { startHubProcess, type HubProcess } from './lib/hub-process.js';
import { startInfluxd, type BenchInfluxd } from './lib/influxd.js';
import { type MachineInfo } from './lib/machine.js';
import { cpuPercent, ProcSampler, type ProcSample } from './lib/proc-stats.js';
import { benchLog, durationFlag, parseFlags, sleep, wholeFlag } from './lib/flags.js';

export const INFLUX_HELP = `npm run bench -- influx [options]

  --devices N            MQTT devices (default 1000)
  --duration D           hub publishing window (default 15s)
  --inflight K           QoS 1 messages in flight per device (default 4)
  --bare-duration D      bare writer window (default 5s)
  --bare-concurrency N   bare writer requests in flight (default 4)
  --probe-interval D     probe device publish interval for visibility latency (default 100ms)
  --settle-timeout D     longest wait for the hub's buffer to drain (default 60s)
  --hub-arg ARG          extra hub flag, repeatable (e.g. --hub-arg=--influx-flush-ms --hub-arg=500)
  --keep-data            keep the temp dir (influxd data, hub data and log)
  --hub-profile          run the hub with --cpu-prof and print where its main thread went
`;

interface InfluxOptions {
  devices: number;
  durationMs: number;
  inflight: number;
  bareDurationMs: number;
  bareConcurrency: number;
  probeIntervalMs: number;
  settleTimeoutMs: number;
  hubArgs: string[];
  keepData: boolean;
  hubProfile: boolean;
}

const BATCH = 5000;
/** Points per load message: temperature, humidity and t (device-sim load mode). */
const POINTS_PER_MESSAGE = 3;
const HUB_DB = 'hub';
const BARE_DB = 'bare';

export function parseInfluxArgs(argv: readonly string[]): InfluxOptions | 'help' {
  const values = parseFlags(argv, {
        devices: { type: 'string' },
        duration: { type: 'string' },
        inflight: { type: 'string' },
        'bare-duration': { type: 'string' },
        'bare-concurrency': { type: 'string' },
        'probe-interval': { type: 'string' },
        'settle-timeout': { type: 'string' },
        'hub-arg': { type: 'string', multiple: true },
        'keep-data': { type: 'boolean' },
        'hub-profile': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      });
  if (values.help) return 'help';
  return {
    devices: wholeFlag('devices', values.devices, 1000),
    durationMs: durationFlag('duration', values.duration, '15s'),
    inflight: wholeFlag('inflight', values.inflight, 4),
    bareDurationMs: durationFlag('bare-duration', values['bare-duration'], '5s'),
    bareConcurrency: wholeFlag('bare-concurrency', values['bare-concurrency'], 4),
    probeIntervalMs: durationFlag('probe-interval', values['probe-interval'], '100ms'),
    settleTimeoutMs: durationFlag('settle-timeout', values['settle-timeout'], '60s'),
    hubArgs: values['hub-arg'] ?? [],
    keepData: values['keep-data'] ?? false,
    hubProfile: values['hub-profile'] ?? false,
  };
}

const log = benchLog('influx');

export const influxBenchmark = defineBenchmark({
  name: 'influx',
  description: 'hub with --store influx, 1,000 MQTT devices: POSTs per 10k points, publish→queryable p99; points/s vs a bare writer printed',
  help: INFLUX_HELP,
  parse: parseInfluxArgs,
  async measure(options, { workDir, machine }) {
    log(`influxd, hub data and log under ${workDir}`);
    const adminToken = randomBytes(24).toString('hex');
    let influxd: BenchInfluxd | undefined;
    let hub: HubProcess | undefined;
    try {
      influxd = await startInfluxd(join(workDir, 'influxd'));
      const influxSampler = new ProcSampler(influxd.pid);
      influxSampler.start(1000);
      log(`influxd pid ${influxd.pid} at ${influxd.baseUrl}`);

      const bare = await bareWriter(influxd, options, influxSampler, 0);
      log(`bare writer (before the hub): ${int(bare.pointsPerSec)} points/s`);

      const flushMs = flagValue(options.hubArgs, '--influx-flush-ms') ?? 1000;
      hub = await startHubProcess({
        dataDir: join(workDir, 'hub-data'),
        adminToken,
        logFile: join(workDir, 'hub.log'),
        extraArgs: ['--store', 'influx', '--influx-url', `${influxd.baseUrl}/${HUB_DB}`, ...options.hubArgs],
        nodeArgs: options.hubProfile ? ['--cpu-prof', '--cpu-prof-dir', join(workDir, 'profile')] : [],
      });
      const hubSampler = new ProcSampler(hub.pid);
      hubSampler.start(1000);
      log(`hub pid ${hub.pid} at ${hub.httpUrl} and ${hub.mqttUrl}`);

      const ids = Array.from({ length: options.devices }, (_, i) => `bench-${String(i + 1).padStart(String(options.devices).length, '0')}`);
      const [probeDevice, ...devices] = await provisionDevices({
        hubUrl: hub.httpUrl,
        adminToken,
        devices: [{ id: 'probe', kind: 'probe' }, ...ids.map((id) => ({ id, kind: 'load-sensor' }))],
        concurrency: 100,
      });
      const postsBefore = await influxWriteRequests(influxd);
      const probe = await startProbe(influxd, hub, probeDevice!, options.probeIntervalMs);

      const marks: { publishing?: Mark; draining?: Mark; done?: Mark } = {};
      const mark = (): Mark => ({ at: Date.now(), hub: hubSampler.sample(), influxd: influxSampler.sample() });
      const countAt: Record<string, Promise<number>> = {};
      const report = await runLoad({
        mqttUrl: hub.mqttUrl,
        devices,
        durationMs: options.durationMs,
        qos: 1,
        inflight: options.inflight,
        progress: (line) => process.stderr.write(`[influx] ${line}\n`),
        onPhase: (phase) => {
          marks[phase] = mark();
          if (phase !== 'done') countAt[phase] = countLoadPoints(influxd!);
        },
      });
      const landedAtStart = await countAt.publishing!;
      const landedAtEnd = await countAt.draining!;

      probe.stopPublishing();
      log('load done: waiting for the hub to drain its buffer into InfluxDB');
      const expected = report.acked * POINTS_PER_MESSAGE;
      const drainStart = Date.now();
      let health = await getHealth(hub);
      while (Date.now() - drainStart < options.settleTimeoutMs && !(health.store.buffer?.points === 0 && (health.store.delivered ?? 0) >= expected)) {
        await sleep(200);
        health = await getHealth(hub);
        if (process.env.BENCH_DEBUG) log(`drain ${Date.now() - drainStart} ms: ${JSON.stringify(health.store)}`);
      }
      const drainedMs = Date.now() - drainStart;
      await probe.stop();
      const settled = mark();
      hubSampler.stop();
      influxSampler.stop();
      const landed = await countLoadPoints(influxd);
      const postsAfter = await influxWriteRequests(influxd);
      // Again after the hub's run, into the same influxd (later timestamps): the machine is shared and noisy.
      const bareAfter = await bareWriter(influxd, options, influxSampler, 1);
      log(`bare writer (after the hub): ${int(bareAfter.pointsPerSec)} points/s`);

      const result = buildResult({
        options, bare, bareAfter, report, flushMs, probe: probe.latency.summary(), probeSent: probe.sent, probeSeen: probe.latency.count,
        landedAtStart, landedAtEnd, landed, expected, drainedMs, health, marks, settled,
        influxdPosts: postsBefore !== null && postsAfter !== null ? postsAfter - postsBefore : null,
        hubLogs: hub.logs, hubPeakRss: hubSampler.peakRssBytes,
      });
      const problems = landed !== expected ? [`${landed < expected ? 'LOSS' : 'EXTRA'}: ${int(expected)} points acknowledged, ${int(landed)} in InfluxDB`] : [];
      return { result, rows: influxRows(result), text: formatResult(result, machine), problems };
    } finally {
      if (hub) {
        const ended = await hub.stop();
        if (ended.killed) log('the hub did not stop within 15 s of SIGTERM: killed');
      }
      await influxd?.stop();
      if (options.hubProfile) printProfile(join(workDir, 'profile'));
    }
  },
});

interface Mark {
  at: number;
  hub: ProcSample | undefined;
  influxd: ProcSample | undefined;
}

function flagValue(args: readonly string[], flag: string): number | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === flag) return Number(args[i + 1]);
    if (arg.startsWith(`${flag}=`)) return Number(arg.slice(flag.length + 1));
  }
  return undefined;
}

async function getHealth(hub: HubProcess): Promise<HealthResponse> {
  // 503 while degraded, with the same body.
  return (await (await fetch(`${hub.httpUrl}/healthz`)).json()) as HealthResponse;
}

/** Points of the load devices in the hub's database (InfluxQL count; the probe device is left out). */
async function countLoadPoints(influxd: BenchInfluxd): Promise<number> {
  const res = await influxd.query(`SELECT count("value") FROM "raw"."telemetry" WHERE "device" =~ /^bench-/`, HUB_DB);
  const row = res.results[0]?.series?.[0]?.values?.[0];
  return row ? Number(row[1]) : 0;
}

/** influxd's own count of HTTP write requests (SHOW STATS, module httpd); null if it has none. */
async function influxWriteRequests(influxd: BenchInfluxd): Promise<number | null> {
  const res = await influxd.query('SHOW STATS FOR \'httpd\'');
  const series = res.results[0]?.series?.[0];
  const col = series?.columns.indexOf('writeReq') ?? -1;
  return series && col >= 0 ? Number(series.values[0]?.[col]) : null;
}

interface BareResult {
  points: number;
  posts: number;
  ms: number;
  pointsPerSec: number;
  failedPosts: number;
  /** This process (building nothing: batches are pre-built) while posting, % of one core. */
  writerCpuPercent: number;
  influxdCpuPercent: number | null;
}

/** Pre-built batches of 5,000 lines, posted with `concurrency` requests in flight for the window. */
async function bareWriter(influxd: BenchInfluxd, options: InfluxOptions, influxSampler: ProcSampler, round: number): Promise<BareResult> {
  await influxd.query(`CREATE DATABASE "${BARE_DB}"`);
  // Enough distinct points for ~400k points/s over the window; beyond that batches repeat (same series and ts: overwritten).
  const batchCount = Math.max(8, Math.ceil((400_000 * options.bareDurationMs) / 1000 / BATCH));
  const t0 = Date.now() - 3_600_000 + round * 1_000_000;
  const batches: string[] = [];
  for (let b = 0; b < batchCount; b++) {
    const lines: string[] = [];
    for (let i = 0; i < BATCH; i++) {
      // Like the hub's layout: 1,000 devices × 3 metrics, unique timestamps per series.
      const device = i % 1000;
      const metric = ['temperature', 'humidity', 't'][Math.floor(i / 1000) % 3];
      lines.push(`telemetry,device=bare-${device},metric=${metric} value=${(20 + (i % 97) / 10).toFixed(1)} ${t0 + b * 2 + Math.floor(i / 3000)}`);
    }
    batches.push(lines.join('\n'));
  }
  const url = `${influxd.baseUrl}/write?db=${BARE_DB}&precision=ms`;
  let next = 0;
  let posts = 0;
  let failed = 0;
  const cpu0 = process.cpuUsage();
  const influx0 = influxSampler.sample();
  const start = Date.now();
  const deadline = start + options.bareDurationMs;
  await Promise.all(
    Array.from({ length: options.bareConcurrency }, async () => {
      while (Date.now() < deadline) {
        const body = batches[next++ % batches.length] as string;
        const res = await fetch(url, { method: 'POST', body });
        await res.arrayBuffer();
        if (res.status === 204) posts++;
        else failed++;
      }
    }),
  );
  const elapsed = Date.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const influx1 = influxSampler.sample();
  return {
    points: posts * BATCH,
    posts,
    ms: elapsed,
    pointsPerSec: (posts * BATCH) / (elapsed / 1000),
    failedPosts: failed,
    writerCpuPercent: ((cpu.user + cpu.system) / 1000 / elapsed) * 100,
    influxdCpuPercent: influx0 && influx1 ? cpuPercent(influx0, influx1) : null,
  };
}

interface Probe {
  latency: LatencyRecorder;
  sent: number;
  /** No more probes (so the hub's buffer can drain to empty); the poller keeps looking for the last ones. */
  stopPublishing(): void;
  stop(): Promise<void>;
}

/**
 * A device outside the load publishing {"metrics":{"probe":k}} every
 * intervalMs (QoS 1), and a poller that queries InfluxDB for the probe's
 * values back to back: latency = first seen − publish time (same clock).
 * Resolution: one query round trip (a few ms).
 */
async function startProbe(influxd: BenchInfluxd, hub: HubProcess, device: { id: string; token: string }, intervalMs: number): Promise<Probe> {
  const client = await mqtt.connectAsync(hub.mqttUrl, { clientId: device.id, username: device.id, password: device.token, reconnectPeriod: 0 });
  const sentAt = new Map<number, number>();
  const latency = new LatencyRecorder();
  let k = 0;
  let running = true;
  const publisher = setInterval(() => {
    const n = k++;
    sentAt.set(n, Date.now());
    client.publish(`devices/${device.id}/telemetry`, JSON.stringify({ metrics: { probe: n } }), { qos: 1 });
  }, intervalMs);
  const poller = (async () => {
    while (running) {
      if (sentAt.size > 0) {
        const oldest = Math.min(...sentAt.keys());
        const res = await influxd.query(`SELECT "value" FROM "raw"."telemetry" WHERE "device" = 'probe' AND "value" >= ${oldest}`, HUB_DB).catch(() => null);
        const seenAt = Date.now();
        for (const row of res?.results[0]?.series?.[0]?.values ?? []) {
          const n = Number(row[1]);
          const at = sentAt.get(n);
          if (at === undefined) continue;
          latency.record(seenAt - at);
          sentAt.delete(n);
        }
      }
      await sleep(5);
    }
  })();
  return {
    latency,
    get sent() {
      return k;
    },
    stopPublishing() {
      clearInterval(publisher);
    },
    async stop() {
      clearInterval(publisher);
      // Give the last probes time to land (they are in the drained buffer by now).
      const deadline = Date.now() + 5000;
      while (sentAt.size > 0 && Date.now() < deadline) await sleep(50);
      running = false;
      await poller;
      await client.endAsync();
    },
  };
}

interface BuildInput {
  options: InfluxOptions;
  bare: BareResult;
  bareAfter: BareResult;
  report: LoadReport;
  flushMs: number;
  probe: LatencySummary | null;
  probeSent: number;
  probeSeen: number;
  landedAtStart: number;
  landedAtEnd: number;
  landed: number;
  expected: number;
  drainedMs: number;
  health: HealthResponse;
  marks: { publishing?: Mark; draining?: Mark; done?: Mark };
  settled: Mark;
  influxdPosts: number | null;
  hubLogs: { warn: number; error: number; samples: string[] };
  hubPeakRss: number;
}

function buildResult(input: BuildInput) {
  const { report, marks, bare, bareAfter, health } = input;
  const bareMean = (bare.pointsPerSec + bareAfter.pointsPerSec) / 2;
  const windowSec = report.durationMs / 1000;
  const sustained = (input.landedAtEnd - input.landedAtStart) / windowSec;
  const overall = input.landed / ((report.durationMs + report.drainMs + input.drainedMs) / 1000);
  const between = (a: ProcSample | undefined, b: ProcSample | undefined) => (a && b ? cpuPercent(a, b) : null);
  const hubPosts = health.store.writeRequests ?? null;
  const delivered = health.store.delivered ?? null;
  return {
    options: input.options,
    bareWriter: { before: bare, after: bareAfter, meanPointsPerSec: bareMean },
    hub: {
      flushMs: input.flushMs,
      load: { ...report, perDevice: undefined },
      acknowledgedPoints: input.expected,
      landedPoints: input.landed,
      loss: input.expected - input.landed,
      landedInWindow: input.landedAtEnd - input.landedAtStart,
      sustainedPointsPerSec: sustained,
      overallPointsPerSec: overall,
      ratioToBare: sustained / bareMean,
      drainAfterLoadMs: input.drainedMs,
      posts: { hub: hubPosts, hubDelivered: delivered, influxdWriteReq: input.influxdPosts, per10kPoints: hubPosts !== null && delivered ? (hubPosts / delivered) * 10_000 : null },
      visibilityMs: input.probe,
      probe: { sent: input.probeSent, seen: input.probeSeen },
      cpuPercentPublishing: between(marks.publishing?.hub, marks.draining?.hub),
      influxdCpuPercentPublishing: between(marks.publishing?.influxd, marks.draining?.influxd),
      peakRssBytes: input.hubPeakRss,
      logs: input.hubLogs,
      deadLettered: health.store.deadLettered ?? 0,
    },
    loadGenerator: { cpuPercentOfOneCore: report.cpu.percentOfOneCore, note: 'this process: 1,000 load devices, the probe device and its InfluxDB poller' },
  };
}

type InfluxResult = ReturnType<typeof buildResult>;

export const INFLUX_TARGETS = { postsPer10kPoints: 3, queryableP99Ms: 1250 } as const;

export function influxRows(r: InfluxResult): ScoreRow[] {
  const h = r.hub;
  return [
    printedRow('influx: hub points/s landed vs a bare writer', int(h.sustainedPointsPerSec), `bare writer ${int(r.bareWriter.meanPointsPerSec)}`, h.ratioToBare, 'not judged: bounded by MQTT ingest, not by the writer'),
    boundRow('influx: write POSTs per 10k points', h.posts.per10kPoints, (n) => n.toFixed(2), { atMost: INFLUX_TARGETS.postsPer10kPoints }),
    boundRow('influx: publish → queryable p99', h.visibilityMs?.p99 ?? null, (n) => `${(n / 1000).toFixed(2)} s`, { atMost: INFLUX_TARGETS.queryableP99Ms }),
  ];
}

export function formatResult(r: InfluxResult, machine: MachineInfo): string {
  const h = r.hub;
  const title =
    `influx: ${int(h.load.connected)} MQTT devices, QoS 1, ${r.options.inflight} in flight each, ${(h.load.durationMs / 1000).toFixed(1)} s; ` +
    `bare writer ${(r.options.bareDurationMs / 1000).toFixed(1)} s before and after, ${r.options.bareConcurrency} POSTs in flight (${machine.cores} cores, Node ${machine.node})`;
  const b = r.bareWriter;
  const bareLine = (x: BareResult) => `${int(x.pointsPerSec)}  (writer CPU ${pct(x.writerCpuPercent)}, influxd CPU ${x.influxdCpuPercent === null ? '-' : pct(x.influxdCpuPercent)}${x.failedPosts ? `, ${x.failedPosts} failed POSTs` : ''})`;
  const vis = h.visibilityMs;
  const rows: [string, string][] = [
    ['bare writer points/s, before', bareLine(b.before)],
    ['bare writer points/s, after', bareLine(b.after)],
    ['hub points/s landed (window)', `${int(h.sustainedPointsPerSec)}  (${(h.ratioToBare * 100).toFixed(1)} % of the bare mean; not judged)`],
    ['hub points/s (incl. drain)', int(h.overallPointsPerSec)],
    ['acked points = landed', `${int(h.acknowledgedPoints)} / ${int(h.landedPoints)}${h.loss === 0 ? '  (ok)' : `  (${h.loss > 0 ? 'LOSS' : 'EXTRA'} ${int(Math.abs(h.loss))})`}`],
    ['drain after the load', `${(h.drainAfterLoadMs / 1000).toFixed(1)} s`],
    ['POSTs per 10k points', `${h.posts.per10kPoints === null ? '-' : h.posts.per10kPoints.toFixed(2)}  (hub ${h.posts.hub ?? '-'}, influxd saw ${h.posts.influxdWriteReq ?? '-'}; target ≤ ${INFLUX_TARGETS.postsPer10kPoints})`],
    ['publish→queryable p50 / p99', `${ms(vis?.p50)} / ${ms(vis?.p99)}  (max ${ms(vis?.max)}, ${h.probe.seen}/${h.probe.sent} probes; target p99 ≤ ${INFLUX_TARGETS.queryableP99Ms} ms)`],
    ['publish→PUBACK p50 / p99', `${ms(h.load.ackLatencyMs?.p50)} / ${ms(h.load.ackLatencyMs?.p99)}`],
    ['hub CPU while publishing', h.cpuPercentPublishing === null ? '-' : `${pct(h.cpuPercentPublishing)} (100 % = one core)`],
    ['influxd CPU while publishing', h.influxdCpuPercentPublishing === null ? '-' : pct(h.influxdCpuPercentPublishing)],
    ['load generator CPU', pct(r.loadGenerator.cpuPercentOfOneCore)],
    ['hub warn / error log lines', `${h.logs.warn} / ${h.logs.error}`],
  ];
  return `${title}\n${table(rows)}`;
}

/** The hub's CPU profile, written when it exited: where its main thread spent the run. */
function printProfile(dir: string): void {
  const file = mainThreadProfile(dir);
  if (file) process.stdout.write(`\n${formatProfile(summariseProfile(file))}\n`);
  else log(`no CPU profile in ${dir} (the hub writes one only when it exits normally)`);
}
