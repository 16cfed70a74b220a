/**
 * overload benchmark (issue 8): 100 publishers flood QoS 0 with no flow
 * control (raw sockets writing pre-encoded PUBLISH packets as fast as the
 * kernel takes them, in a child process) for 30 s, then all disconnect at
 * once. Run against the hub with its default per-device rate, the hub with
 * `--device-rate 0` (no per-device limit) and bare aedes. For each: did it
 * stay up, its peak RSS and RSS after, messages read and accepted per
 * second, whether it kept reading (bytes the publishers got into the kernel
 * vs bytes left unread in the server's socket buffers), and whether it
 * serves normally afterwards (a fresh device gets a QoS 1 PUBACK, the HTTP
 * API answers /healthz).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { provisionDevices } from '@iot-hub/device-sim';
import { DashboardProbe } from './lib/dashboard-probe.js';
import { BenchUsageError, benchLog, durationFlag, parseFlags, sleep, wholeFlag } from './lib/flags.js';
import { Flooder, kernelQueues, type FloodStats, type KernelQueues } from './lib/flooder.js';
import { int, mb, ms, pct, table } from './lib/format.js';
import { startHubProcess } from './lib/hub-process.js';
import type { machineInfo } from './lib/machine.js';
import { startBareAedes } from './lib/peers/bare-aedes.js';
import { cpuPercent, ProcSampler, readProc } from './lib/proc-stats.js';
import { defineBenchmark } from './lib/harness.js';
import { type ScoreRow } from './lib/scoreboard.js';

export const OVERLOAD_DESCRIPTION = '100 QoS 0 publishers flood with no flow control, then all disconnect: hub stays up, RSS bound, push-back';

const TARGETS = ['hub', 'hub-unlimited', 'aedes'] as const;
type Target = (typeof TARGETS)[number];

/** The hub's peak RSS must stay under this (see bench/README.md, overload). */
const DEFAULT_RSS_BOUND_MB = 400;

export const OVERLOAD_HELP = `npm run bench -- overload [options]

  --targets LIST       comma-separated, of: hub (default --device-rate),
                       hub-unlimited (--device-rate 0), aedes (bare aedes)
                       (default: all three)
  --publishers N       flooding connections (default 100)
  --duration D         flood window (default 30s)
  --settle D           wait after the disconnect before checking (default 10s)
  --chunk-bytes N      bytes per socket write, whole packets (default 16384)
  --rss-bound-mb N     the hub's peak RSS must stay under this (default ${DEFAULT_RSS_BOUND_MB})
  --no-subscriber      no consumer (default: a dashboard socket on all telemetry
                       for the hub, an MQTT subscriber on devices/+/telemetry for aedes)
  --hub-arg ARG        extra hub flag, repeatable
  --keep-data          keep the hub's temp data dir and log
`;

interface OverloadOptions {
  targets: Target[];
  publishers: number;
  durationMs: number;
  settleMs: number;
  chunkBytes: number;
  rssBoundBytes: number;
  subscriber: boolean;
  hubArgs: string[];
  keepData: boolean;
}

export function parseOverloadArgs(argv: readonly string[]): OverloadOptions | 'help' {
  const values = parseFlags(argv, {
    targets: { type: 'string' },
    publishers: { type: 'string' },
    duration: { type: 'string' },
    settle: { type: 'string' },
    'chunk-bytes': { type: 'string' },
    'rss-bound-mb': { type: 'string' },
    'no-subscriber': { type: 'boolean' },
    'hub-arg': { type: 'string', multiple: true },
    'keep-data': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  const targets = (values.targets ?? TARGETS.join(',')).split(',').map((s) => s.trim());
  for (const t of targets) if (!(TARGETS as readonly string[]).includes(t)) throw new BenchUsageError(`--targets: unknown "${t}" (use ${TARGETS.join(', ')})`);
  return {
    targets: targets as Target[],
    publishers: wholeFlag('publishers', values.publishers, 100),
    durationMs: durationFlag('duration', values.duration, '30s'),
    settleMs: durationFlag('settle', values.settle, '10s'),
    chunkBytes: wholeFlag('chunk-bytes', values['chunk-bytes'], 16_384, 128),
    rssBoundBytes: wholeFlag('rss-bound-mb', values['rss-bound-mb'], DEFAULT_RSS_BOUND_MB) * 1024 * 1024,
    subscriber: !(values['no-subscriber'] ?? false),
    hubArgs: values['hub-arg'] ?? [],
    keepData: values['keep-data'] ?? false,
  };
}

const log = benchLog('overload');

/** About the size of ingest's payload, so packets are ~85 bytes. */
const PAYLOAD = JSON.stringify({ metrics: { temperature: 21.53, humidity: 40.1, pressure: 1013.2 } });
/** A fresh device must get its PUBACK, and /healthz must answer, within these after the flood. */
const PUBACK_BOUND_MS = 5000;
const HEALTHZ_BOUND_MS = 2000;

interface Server {
  name: string;
  pid: number;
  mqttUrl: string;
  httpUrl: string | null;
  adminToken: string | null;
  /** Flood devices, then the probe and the fresh device (provisioned on the hub). */
  devices: { id: string; token: string }[];
  probe: { id: string; token: string };
  fresh: { id: string; token: string };
  /** Messages handled and dropped over the per-device rate, and the push-back figures, from /metrics (hub only). */
  counters(): Promise<HubCounters | null>;
  stop(): Promise<string>;
}

/** Runs the benchmark; exit code 1 when the hub fails one of its checks (bare aedes failing is the expected contrast). */
export const overloadBenchmark = defineBenchmark({
  name: 'overload',
  description: OVERLOAD_DESCRIPTION,
  help: OVERLOAD_HELP,
  parse: parseOverloadArgs,
  async measure(options, { machine }) {
    const results: TargetResult[] = [];
    for (const target of options.targets) results.push(await runTarget(target, options));
    return {
      result: { results },
      rows: overloadRows(results, options),
      text: formatResult({ machine, options, results }),
      problems: results.filter((r) => r.target !== 'aedes' && !r.verdict.ok).map((r) => `${r.name}: ${r.verdict.reasons.join('; ')}`),
    };
  },
});

/** One row per hub variant: stays up, pushes back, bounded RSS, serves again after the flood. Bare aedes is the reference, not judged. */
export function overloadRows(results: readonly TargetResult[], options: OverloadOptions): ScoreRow[] {
  return results.filter((r) => r.target !== 'aedes').map((r) => ({
    what: `overload: ${r.name} under a QoS 0 flood`,
    figure: `${r.stayedUp ? 'up' : 'DOWN'}, peak RSS ${mb(r.peakRssBytes)}`,
    peer: '',
    ratio: null,
    target: `stays up, pushes back, RSS < ${mb(options.rssBoundBytes)}, serves after`,
    verdict: r.verdict.ok ? 'met' : 'missed',
  }));
}

async function startServer(target: Target, options: OverloadOptions, workDir: string): Promise<Server> {
  const ids = Array.from({ length: options.publishers }, (_, i) => `flood-${String(i + 1).padStart(3, '0')}`);
  if (target === 'aedes') {
    const peer = await startBareAedes();
    const any = (id: string) => ({ id, token: 'x' });
    return {
      name: peer.name,
      pid: peer.pid,
      mqttUrl: peer.url,
      httpUrl: null,
      adminToken: null,
      devices: ids.map(any),
      probe: any('overload-probe'),
      fresh: any('overload-fresh'),
      counters: () => Promise.resolve(null),
      stop: async () => {
        await peer.stop();
        return 'stopped';
      },
    };
  }
  const adminToken = randomBytes(24).toString('hex');
  const hub = await startHubProcess({
    dataDir: join(workDir, `data-${target}`),
    adminToken,
    logFile: join(workDir, `hub-${target}.log`),
    extraArgs: [...(target === 'hub-unlimited' ? ['--device-rate', '0'] : []), ...options.hubArgs],
  });
  const provisioned = await provisionDevices({
    hubUrl: hub.httpUrl,
    adminToken,
    devices: [...ids, 'overload-probe', 'overload-fresh'].map((id) => ({ id, kind: 'load-sensor' })),
    concurrency: 20,
  });
  const creds = provisioned.map((d) => ({ id: d.id, token: d.token }));
  return {
    name: target === 'hub' ? 'hub (default --device-rate)' : 'hub --device-rate 0',
    pid: hub.pid,
    mqttUrl: hub.mqttUrl,
    httpUrl: hub.httpUrl,
    adminToken,
    devices: creds.slice(0, ids.length),
    probe: creds[ids.length] as { id: string; token: string },
    fresh: creds[ids.length + 1] as { id: string; token: string },
    counters: () => hubCounters(hub.httpUrl, adminToken),
    stop: async () => {
      const ended = await hub.stop();
      return ended.killed ? 'killed after SIGTERM timed out' : `exit ${ended.code ?? ended.signal}`;
    },
  };
}

interface HubCounters {
  handled: number;
  dropped: number;
  /** Times the ingest gate stopped reading device sockets, by reason, and for how long in all. */
  pauses: { lag: number; inFlight: number; seconds: number };
  inFlightMax: number;
}

async function hubCounters(httpUrl: string, adminToken: string): Promise<HubCounters | null> {
  try {
    const res = await fetch(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${adminToken}` }, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    const value = (prefix: string) => Number(text.split('\n').find((l) => l.startsWith(prefix))?.split(' ').pop() ?? 0);
    return {
      handled: value('iot_hub_device_messages_total{direction="in",transport="mqtt"}'),
      dropped: value('iot_hub_device_rate_limited_total{action="dropped"}'),
      pauses: { lag: value('iot_hub_ingest_paused_total{reason="lag"}'), inFlight: value('iot_hub_ingest_paused_total{reason="in_flight"}'), seconds: value('iot_hub_ingest_paused_seconds_total ') },
      inFlightMax: value('iot_hub_ingest_in_flight_max '),
    };
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** GET /healthz: ms until the whole answer, or null on error or timeout. */
async function healthz(httpUrl: string, timeoutMs: number): Promise<number | null> {
  const start = performance.now();
  try {
    const res = await fetch(`${httpUrl}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.text();
    return res.ok ? performance.now() - start : null;
  } catch {
    return null;
  }
}

/** A normal device: connects, publishes QoS 1, waits for PUBACK; ms from CONNECT to PUBACK, or the error. */
async function freshDevice(url: string, d: { id: string; token: string }, timeoutMs: number): Promise<{ ms: number } | { error: string }> {
  const start = performance.now();
  const client = mqtt.connect(url, { clientId: d.id, username: d.id, password: d.token, reconnectPeriod: 0, connectTimeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    const deadline = sleep(timeoutMs).then(() => {
      throw new Error(`no PUBACK within ${timeoutMs} ms`);
    });
    await Promise.race([
      (async () => {
        await new Promise<void>((resolve, reject) => {
          client.once('connect', () => resolve());
          client.once('error', reject);
          client.once('close', () => reject(new Error('closed before CONNACK')));
        });
        await client.publishAsync(`devices/${d.id}/telemetry`, PAYLOAD, { qos: 1 });
      })(),
      deadline,
    ]);
    return { ms: performance.now() - start };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    client.end(true);
  }
}

/** Once a second during the flood: a QoS 1 publish from a normal device, and (hub) /healthz; their times. */
class ServiceProbe {
  readonly puback: (number | null)[] = [];
  readonly healthz: (number | null)[] = [];
  #client: mqtt.MqttClient | undefined;
  #timer: NodeJS.Timeout | undefined;

  async start(server: Server): Promise<void> {
    const d = server.probe;
    const client = mqtt.connect(server.mqttUrl, { clientId: d.id, username: d.id, password: d.token, reconnectPeriod: 0 });
    client.on('error', () => undefined);
    this.#client = client;
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    this.#timer = setInterval(() => {
      const start = performance.now();
      const done = (ok: boolean) => this.puback.push(ok ? performance.now() - start : null);
      if (!client.connected) return done(false);
      Promise.race([client.publishAsync(`devices/${d.id}/telemetry`, PAYLOAD, { qos: 1 }).then(() => true), sleep(5000).then(() => false)]).then(done, () => done(false));
      if (server.httpUrl) void healthz(server.httpUrl, 5000).then((t) => this.healthz.push(t));
    }, 1000);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#client?.end(true);
  }
}

function summary(samples: readonly (number | null)[]): { n: number; failed: number; p50: number | undefined; max: number | undefined } {
  const ok = samples.filter((s): s is number => s !== null).sort((a, b) => a - b);
  return { n: samples.length, failed: samples.length - ok.length, p50: ok[Math.floor(ok.length / 2)], max: ok[ok.length - 1] };
}

async function runTarget(target: Target, options: OverloadOptions) {
  const workDir = mkdtempSync(join(tmpdir(), 'iot-hub-overload-'));
  log(`${target}: starting (temp dir ${workDir})`);
  const server = await startServer(target, options, workDir);
  const port = Number(new URL(server.mqttUrl).port);
  const sampler = new ProcSampler(server.pid);
  const flooder = new Flooder();
  const dashboard = server.httpUrl && options.subscriber ? new DashboardProbe() : null;
  const probe = new ServiceProbe();
  const timeline: { at: number; afterMs: number; flushedBytes: number; open: number; queues: KernelQueues; rssBytes: number | null; cpuPercent: number | null }[] = [];
  let stoppedHow = '';
  try {
    if (dashboard && server.httpUrl && server.adminToken) await dashboard.connect(server.httpUrl, server.adminToken);
    const ready = await flooder.setup({
      host: new URL(server.mqttUrl).hostname,
      port,
      devices: server.devices,
      payload: PAYLOAD,
      chunkBytes: options.chunkBytes,
      subscribeFilter: options.subscriber && !server.httpUrl ? 'devices/+/telemetry' : null,
    });
    if (ready.refused.length > 0) log(`${ready.refused.length} connections refused, e.g. ${ready.refused[0]}`);
    log(`${target}: ${ready.connected} publishers connected (${ready.packetBytes}-byte packets); flooding for ${options.durationMs / 1000} s`);
    await probe.start(server);
    const before = await server.counters();
    sampler.start(1000);
    const flooderStart = readProc(flooder.pid);
    const floodStart = Date.now();
    flooder.flood();
    let last = { at: floodStart, flushedBytes: 0, cpuMs: sampler.samples[0]?.cpuMs ?? 0 };
    while (Date.now() - floodStart < options.durationMs && alive(server.pid)) {
      await sleep(1000);
      const stats = await flooder.stats();
      const queues = kernelQueues(port, stats.localPorts);
      const proc = sampler.sample();
      const now = Date.now();
      const cpu = proc ? ((proc.cpuMs - last.cpuMs) / (now - last.at)) * 100 : null;
      timeline.push({ at: now, afterMs: now - floodStart, flushedBytes: stats.flushedBytes, open: stats.open, queues, rssBytes: proc?.rssBytes ?? null, cpuPercent: cpu });
      const writeRate = (stats.flushedBytes - last.flushedBytes) / ((now - last.at) / 1000);
      log(
        `${((now - floodStart) / 1000).toFixed(0)} s: publishers wrote ${mb(writeRate)}/s, ${stats.open} open; server unread ${mb(queues.serverUnread)} ` +
          `(${queues.serverSocketsFull} sockets ≥ 64 KiB), publishers' unsent ${mb(queues.clientUnsent)}; server RSS ${proc ? mb(proc.rssBytes) : 'gone'}, CPU ${cpu === null ? '-' : pct(cpu)}`,
      );
      last = { at: now, flushedBytes: stats.flushedBytes, cpuMs: proc?.cpuMs ?? last.cpuMs };
    }
    const endStats: FloodStats = await flooder.stats();
    const endQueues = kernelQueues(port, endStats.localPorts);
    const floodMs = Date.now() - floodStart;
    const flooderEnd = readProc(flooder.pid);
    await flooder.disconnectAll();
    const disconnectedAt = Date.now();
    log(`${target}: all publishers disconnected; watching for ${options.settleMs / 1000} s`);
    probe.stop();
    const after = await server.counters();
    while (Date.now() - disconnectedAt < options.settleMs && alive(server.pid)) {
      await sleep(500);
      sampler.sample();
    }
    const upAfterSettle = alive(server.pid);
    const rssAfter = upAfterSettle ? (sampler.sample()?.rssBytes ?? null) : null;
    const fresh = upAfterSettle ? await freshDevice(server.mqttUrl, server.fresh, PUBACK_BOUND_MS) : { error: 'server gone' };
    const health = server.httpUrl && upAfterSettle ? await healthz(server.httpUrl, HEALTHZ_BOUND_MS) : null;
    sampler.stop();

    const packets = (bytes: number) => bytes / ready.packetBytes;
    // Of the connections still open, the server read what their kernels no longer hold. Of those it
    // closed, it read at most what was handed over (the rest was discarded at the close).
    const openFlushed = endStats.flushedBytes - endStats.flushedByClosed;
    const readBytes = Math.max(0, openFlushed - endQueues.clientUnsent - endQueues.serverUnread);
    const accepted = before && after ? after.handled - before.handled : packets(readBytes);
    const dropped = before && after ? after.dropped - before.dropped : 0;
    // Pushed back: most of what the publishers got into their kernels was never read. A server that
    // keeps reading leaves little there, and holds the rest in its own memory instead.
    const unreadShare = openFlushed > 0 ? 1 - readBytes / openFlushed : 0;
    // Closing a flooding connection (the hub does so after 10 rate_limited errors [FP-7.3]) is
    // shedding too: what it sent is not held anywhere.
    const closedShare = ready.connected > 0 ? endStats.closedByServer / ready.connected : 0;
    const pushedBack = closedShare >= 0.5 || unreadShare >= 0.5;
    const result = {
      target,
      name: server.name,
      publishers: ready.connected,
      refused: ready.refused.length,
      packetBytes: ready.packetBytes,
      floodMs,
      stayedUp: upAfterSettle,
      peakRssBytes: sampler.peakRssBytes,
      rssAfterBytes: rssAfter,
      publishersWrote: { bytes: endStats.flushedBytes, msgsPerSec: packets(endStats.flushedBytes) / (floodMs / 1000), closedByServer: endStats.closedByServer },
      closedByServer: endStats.closedByServer,
      firstClosedAfterMs: timeline.find((s) => s.open < ready.connected)?.afterMs ?? null,
      serverRead: { bytes: readBytes, msgsPerSec: packets(readBytes) / (floodMs / 1000), unreadAtEndBytes: endQueues.serverUnread, socketsFullAtEnd: endQueues.serverSocketsFull, publishersUnsentAtEndBytes: endQueues.clientUnsent },
      accepted: { msgsPerSec: accepted / (floodMs / 1000), droppedOverRatePerSec: dropped / (floodMs / 1000), countedBy: before && after ? 'hub /metrics' : 'bytes read ÷ packet size' },
      pushedBack,
      unreadShare,
      hubPushBack: after ? { ...after.pauses, inFlightMax: after.inFlightMax } : null,
      serverCpuPercent: sampler.samples.length > 1 ? cpuPercent(sampler.samples[0]!, sampler.samples.at(-1)!) : null,
      flooderCpuPercent: cpuPercent(flooderStart, flooderEnd),
      subscriber: (dashboard
        ? { kind: 'dashboard', events: dashboard.events, dropped: dashboard.dropped }
        : options.subscriber
          ? { kind: 'mqtt', bytes: endStats.subscriberBytes }
          : null) as SubscriberFigures | null,
      duringFlood: { pubackMs: summary(probe.puback), healthzMs: server.httpUrl ? summary(probe.healthz) : null },
      afterFlood: { freshDevice: fresh, healthzMs: health, healthzBoundMs: HEALTHZ_BOUND_MS, pubackBoundMs: PUBACK_BOUND_MS },
      timeline,
      verdict: { ok: false, reasons: [] as string[] },
    };
    result.verdict = verdict(result, options, server.httpUrl !== null);
    return result;
  } finally {
    probe.stop();
    dashboard?.close();
    sampler.stop();
    await flooder.stop();
    stoppedHow = alive(server.pid) ? await server.stop() : 'had exited';
    log(`${target}: server ${stoppedHow}`);
    if (options.keepData) log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

type TargetResult = Awaited<ReturnType<typeof runTarget>>;

/** The consumer beside the flood: a dashboard socket on the hub, an MQTT subscriber on bare aedes. */
type SubscriberFigures = { kind: 'dashboard'; events: number; dropped: number } | { kind: 'mqtt'; bytes: number };

function subscriberText(s: SubscriberFigures | null): string {
  if (s === null) return 'none';
  return s.kind === 'dashboard' ? `dashboard socket: ${int(s.events)} telemetry events (${int(s.dropped)} dropped)` : `MQTT subscriber: ${mb(s.bytes)} received`;
}

function verdict(r: Omit<TargetResult, 'verdict'>, options: OverloadOptions, hasHttp: boolean): { ok: boolean; reasons: string[] } {
  const reasons: string[] = [];
  if (!r.stayedUp) reasons.push('did not stay up');
  if (r.peakRssBytes > options.rssBoundBytes) reasons.push(`peak RSS ${mb(r.peakRssBytes)} over the ${mb(options.rssBoundBytes)} bound`);
  if (!r.pushedBack) reasons.push(`kept reading: it read ${pct((1 - r.unreadShare) * 100)} of what the publishers wrote to connections it kept open`);
  if ('error' in r.afterFlood.freshDevice) reasons.push(`fresh device after the flood: ${r.afterFlood.freshDevice.error}`);
  if (hasHttp && r.afterFlood.healthzMs === null) reasons.push(`/healthz did not answer within ${HEALTHZ_BOUND_MS} ms after the flood`);
  return { ok: reasons.length === 0, reasons };
}

function formatResult(result: { machine: ReturnType<typeof machineInfo>; options: OverloadOptions; results: TargetResult[] }): string {
  const o = result.options;
  const lines = [`overload: ${o.publishers} QoS 0 publishers, no flow control, ${o.durationMs / 1000} s, then all disconnect (${result.machine.cores} cores, Node ${result.machine.node}, load ${result.machine.loadAvgAtStart[0]})`];
  for (const r of result.results) {
    const fresh = r.afterFlood.freshDevice;
    const d = r.duringFlood;
    lines.push(
      `\n${r.name}: ${r.verdict.ok ? 'ok' : `FAILED: ${r.verdict.reasons.join('; ')}`}`,
      table([
        ['stayed up', r.stayedUp ? 'yes' : 'NO'],
        ['peak RSS / RSS after', `${mb(r.peakRssBytes)} / ${r.rssAfterBytes === null ? '-' : mb(r.rssAfterBytes)} (bound ${mb(o.rssBoundBytes)})`],
        ['publishers wrote', `${int(r.publishersWrote.msgsPerSec)} msgs/s (${mb(r.publishersWrote.bytes)} in all)`],
        ['server read', `${int(r.serverRead.msgsPerSec)} msgs/s${r.closedByServer > 0 ? ' from the connections it kept open' : ''}`],
        ['flooders closed by the server', r.closedByServer === 0 ? 'none' : `${r.closedByServer} of ${r.publishers}, the first within ${((r.firstClosedAfterMs ?? 0) / 1000).toFixed(0)} s`],
        ['accepted (handled)', `${int(r.accepted.msgsPerSec)} msgs/s${r.accepted.droppedOverRatePerSec > 0 ? `, ${int(r.accepted.droppedOverRatePerSec)} msgs/s dropped over the device rate` : ''} (${r.accepted.countedBy})`],
        ['left unread (push-back)', r.closedByServer === r.publishers ? 'n/a: it closed every flooding connection (shed, not held)' : `${pct(r.unreadShare * 100)} of what the publishers wrote to connections it kept open: ${r.pushedBack ? 'pushed back' : 'kept reading'}`],
        ['hub: reads paused (lag / in flight)', r.hubPushBack ? `${int(r.hubPushBack.lag)} / ${int(r.hubPushBack.inFlight)} times, ${r.hubPushBack.seconds.toFixed(1)} s in all; at most ${int(r.hubPushBack.inFlightMax)} messages in flight` : '-'],
        ['kernel queues at the end', `${mb(r.serverRead.unreadAtEndBytes)} unread by the server (${r.serverRead.socketsFullAtEnd} of ${r.publishers} sockets ≥ 64 KiB), ${mb(r.serverRead.publishersUnsentAtEndBytes)} unsent by the publishers`],
        ['during flood: QoS 1 PUBACK p50 / max', `${ms(d.pubackMs.p50)} / ${ms(d.pubackMs.max)} (${d.pubackMs.failed} of ${d.pubackMs.n} failed or > 5 s)`],
        ['during flood: /healthz p50 / max', d.healthzMs ? `${ms(d.healthzMs.p50)} / ${ms(d.healthzMs.max)} (${d.healthzMs.failed} of ${d.healthzMs.n} failed or > 5 s)` : 'n/a (no HTTP)'],
        ['after: fresh device CONNECT→PUBACK', 'ms' in fresh ? ms(fresh.ms) : `FAILED: ${fresh.error}`],
        ['after: /healthz', r.afterFlood.healthzMs === null ? (r.target === 'aedes' ? 'n/a (no HTTP)' : 'FAILED') : ms(r.afterFlood.healthzMs)],
        ['server CPU / flooder CPU', `${r.serverCpuPercent === null ? '-' : pct(r.serverCpuPercent)} / ${pct(r.flooderCpuPercent)} (100 % = one core)`],
        ['subscriber', subscriberText(r.subscriber)],
      ]),
    );
  }
  return lines.join('\n');
}
