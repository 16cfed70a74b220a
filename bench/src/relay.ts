/**
 * relay benchmark (issues 8 and 23): how many messages a second get from MQTT
 * publishers to one subscriber, through the hub (storage and live fan-out
 * on) and through bare aedes, measured in the same run with the same load
 * generator and payload. Scenarios: 1 → 1 and 100 → 1 publishers, at QoS 0
 * and QoS 1; the figure that matters is hub ÷ bare aedes (target ≥ 0.8,
 * except 1 → 1 at QoS 1, printed only: see relayRows).
 *
 * The hub's MQTT ACL lets a device subscribe only to its own topics, so the
 * hub's subscriber is one dashboard socket subscribed to every device's
 * telemetry; bare aedes' is an MQTT client on `devices/+/telemetry`.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { provisionDevices, writeCredentialsFile, type LatencySummary } from '@iot-hub/device-sim';
import { columns } from './lib/columns.js';
import { formatProfile, summariseProfile, type ProfileSummary, mainThreadProfile } from './lib/cpu-profile.js';
import { BenchUsageError, benchLog, durationFlag, parseFlags, sleep, wholeFlag } from './lib/flags.js';
import { int, mb, pct } from './lib/format.js';
import { startHubProcess, type HubProcess } from './lib/hub-process.js';
import { loadDeviceIds, startLoadProcess, type LoadProcess } from './lib/load-process.js';
import { type MachineInfo } from './lib/machine.js';
import { readHubCounters } from './lib/hub-counters.js';
import { MqttSubscriber } from './lib/mqtt-subscriber.js';
import { PrefixDashboardProbe } from './lib/prefix-dashboard-probe.js';
import { startBareAedes } from './lib/peers/bare-aedes.js';
import { cpuPercent, readProc, type ProcSample } from './lib/proc-stats.js';
import { defineBenchmark } from './lib/harness.js';
import { printedRow, ratioRow, type ScoreRow } from './lib/scoreboard.js';

export const RELAY_DESCRIPTION = '1 → 1 and 100 → 1 publishers, QoS 0 and 1: hub (storage and fan-out on) vs bare aedes msgs/s';

export const RELAY_HELP = `npm run bench -- relay [options]

  --duration D         measured window of each run (default 10s)
  --warmup D           publishing before the window opens (default 2s)
  --publishers LIST    publisher counts, comma separated (default 1,100)
  --qos LIST           0, 1 or 0,1 (default 0,1)
  --inflight K         messages in flight per publisher (default 4)
  --settle-timeout D   longest wait after the load for the subscriber and the server
                       to finish (default 60s)
  --hub-arg ARG        extra hub flag, repeatable (the hub runs with --device-rate 0)
  --hub-profile        run the hub with --cpu-prof and print where its CPU went, over
                       every hub run (narrow it with --publishers and --qos)
  --keep-data          keep the temp dir: hub data, hub.log, load logs
`;

/** hub ÷ bare aedes msgs/s must be at least this (issue 8), in every judged scenario. */
export const RELAY_TARGET = 0.8;

interface RelayOptions {
  durationMs: number;
  warmupMs: number;
  publishers: number[];
  qos: (0 | 1)[];
  inflight: number;
  settleTimeoutMs: number;
  hubArgs: string[];
  hubProfile: boolean;
  keepData: boolean;
}

function listFlag<T>(flag: string, text: string | undefined, fallback: T[], parse: (item: string) => T): T[] {
  if (text === undefined) return fallback;
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new BenchUsageError(`--${flag} needs at least one value`);
  return [...new Set(items.map(parse))];
}

export function parseRelayArgs(argv: readonly string[]): RelayOptions | 'help' {
  const values = parseFlags(argv, {
    duration: { type: 'string' },
    warmup: { type: 'string' },
    publishers: { type: 'string' },
    qos: { type: 'string' },
    inflight: { type: 'string' },
    'settle-timeout': { type: 'string' },
    'hub-arg': { type: 'string', multiple: true },
    'hub-profile': { type: 'boolean' },
    'keep-data': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  return {
    durationMs: durationFlag('duration', values.duration, '10s'),
    warmupMs: durationFlag('warmup', values.warmup, '2s'),
    publishers: listFlag('publishers', values.publishers, [1, 100], (s) => wholeFlag('publishers', s, 1)),
    qos: listFlag('qos', values.qos, [0, 1], (s) => {
      if (s !== '0' && s !== '1') throw new BenchUsageError(`--qos takes 0, 1 or 0,1, got "${s}"`);
      return s === '0' ? 0 : 1;
    }),
    inflight: wholeFlag('inflight', values.inflight, 4),
    settleTimeoutMs: durationFlag('settle-timeout', values['settle-timeout'], '60s'),
    hubArgs: values['hub-arg'] ?? [],
    hubProfile: values['hub-profile'] ?? false,
    keepData: values['keep-data'] ?? false,
  };
}

const log = benchLog('relay');

type Target = 'hub' | 'bare aedes';

/** One target in one scenario. */
interface RelayRun {
  target: Target;
  publishers: number;
  qos: 0 | 1;
  /** Why the run has no figures (a peer crashed, a subscriber could not connect ...). */
  error?: string;
  windowMs: number;
  /** Received by the subscriber within the window ÷ the window. */
  receivedPerSec: number;
  /** Whole run (warm-up, window, drain). */
  sent: number;
  /** QoS 1: PUBACKs; QoS 0: publishes the kernel took. */
  acked: number;
  received: number;
  /** Hub only: telemetry the hub shed for the slow dashboard socket and announced (`overflow` events). */
  droppedAnnounced: number;
  /** acked − received − droppedAnnounced: messages that vanished without a word (a cut-off subscriber's among them), or were still queued when the wait after the load ended. */
  lost: number;
  /** The wait after the load (see settle()); timedOut: the server was still busy when it ended. */
  settle: { ms: number; timedOut: boolean };
  /** Hub only: telemetry of other runs' devices the dashboard got during this run (an earlier run's backlog). */
  otherDevicesEvents?: number;
  /** Hub only, from its /metrics over the run: messages stored (points ÷ 3), events it dropped for the dashboard, dashboards it cut off. */
  hubCounters?: { stored: number; dashboardDropped: number; dashboardCutOff: number };
  publishToSubscriberMs: LatencySummary | null;
  cpu: { serverPercent: number; loadGeneratorPercent: number; subscriberPercent: number };
  serverPeakRssBytes: number;
  loadAverage1m: number;
  loadErrors: Record<string, number>;
}

interface Servers {
  hub: HubProcess;
  adminToken: string;
  workDir: string;
  hubCredentials: string;
  peerCredentials: string;
}

export const relayBenchmark = defineBenchmark({
  name: 'relay',
  description: RELAY_DESCRIPTION,
  help: RELAY_HELP,
  parse: parseRelayArgs,
  async measure(options, { workDir, machine }) {
    const adminToken = randomBytes(24).toString('hex');
    let hub: HubProcess | undefined;
    const profileDir = join(workDir, 'profile');
    try {
      hub = await startHubProcess({
        dataDir: join(workDir, 'data'),
        adminToken,
        logFile: join(workDir, 'hub.log'),
        nodeArgs: options.hubProfile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
        // Relay measures the message path, not the per-device limit (100 msgs/s by default) that would cap 1 → 1.
        extraArgs: ['--device-rate', '0', ...options.hubArgs],
      });
      log(`hub pid ${hub.pid} at ${hub.mqttUrl}; temp dir ${workDir}`);

      const ids = options.publishers.flatMap((n) => options.qos.flatMap((qos) => loadDeviceIds(prefixFor(n, qos), n)));
      const credentials = await provisionDevices({ hubUrl: hub.httpUrl, adminToken, devices: ids.map((id) => ({ id, kind: 'load-sensor' })), concurrency: 50 });
      const servers: Servers = {
        hub,
        adminToken,
        workDir,
        hubCredentials: join(workDir, 'hub-devices.json'),
        peerCredentials: join(workDir, 'peer-devices.json'),
      };
      await writeCredentialsFile(servers.hubCredentials, credentials);
      // Bare aedes accepts anyone: the same ids with a dummy token.
      await writeCredentialsFile(servers.peerCredentials, ids.map((id) => ({ id, token: 'bench', kind: 'load-sensor' })));
      log(`provisioned ${credentials.length} devices in the hub`);

      const runs: RelayRun[] = [];
      for (const publishers of options.publishers) {
        for (const qos of options.qos) {
          // The two targets back to back, so they see about the same machine.
          for (const target of ['hub', 'bare aedes'] as const) runs.push(await runOneOrRecord(servers, options, target, publishers, qos));
        }
      }

      // Stopped before the report: its CPU profile is written as it exits.
      const hubLogs = hub.logs;
      const ended = await hub.stop();
      hub = undefined;
      if (ended.killed) log('the hub did not stop within 15 s of SIGTERM: killed');
      const profile = options.hubProfile ? readProfile(profileDir) : undefined;

      const result = { ...buildResult(options, runs, hubLogs), hubProfile: profile };
      // Acknowledged means stored (PUBACK follows the durable write); the dashboard may shed, but must say so or be cut off.
      const problems: string[] = [];
      for (const r of runs.filter((x) => x.target === 'hub' && x.qos === 1 && x.hubCounters)) {
        const notStored = r.acked - (r.hubCounters?.stored ?? 0);
        if (notStored > 0) problems.push(`LOSS: the hub acknowledged ${notStored} QoS 1 messages (${r.publishers} → 1) it did not store`);
        if (r.lost > 0 && r.hubCounters?.dashboardCutOff === 0) problems.push(`LOSS: ${r.lost} QoS 1 messages (${r.publishers} → 1) never reached the dashboard, which was neither told nor cut off`);
      }
      const text = `${formatRelay(result, machine)}${profile ? `\n\n${formatProfile(profile)}` : ''}`;
      return { result, rows: relayRows(result.scenarios), text, problems };
    } finally {
      const ended = await hub?.stop();
      if (ended?.killed) log('the hub did not stop within 15 s of SIGTERM: killed');
    }
  },
});

/** Each run has devices of its own, so that a hub still busy with an earlier run's backlog cannot inflate its count. */
const prefixFor = (publishers: number, qos: 0 | 1): string => `relay${publishers}q${qos}-`;

interface Subscriber {
  received(): number;
  /** Hub only: events of devices outside this run. */
  others?(): number;
  dropped(): number;
  lastReceivedAt(): number;
  latency(): LatencySummary | null;
  close(): void;
}

async function subscribeHub(servers: Servers, prefix: string): Promise<Subscriber> {
  const probe = new PrefixDashboardProbe(prefix);
  try {
    await probe.connect(servers.hub.httpUrl, servers.adminToken);
  } catch (err) {
    probe.close();
    throw err;
  }
  return {
    received: () => probe.events,
    others: () => probe.others,
    dropped: () => probe.dropped,
    lastReceivedAt: () => probe.lastEventAt,
    latency: () => probe.latency.summary(),
    close: () => probe.close(),
  };
}

async function subscribeMqtt(url: string, qos: 0 | 1): Promise<Subscriber> {
  // At QoS 1 the subscription is QoS 1 too, so aedes delivers (and tracks) QoS 1 to it.
  const sub = await MqttSubscriber.connect({ url, topic: 'devices/+/telemetry', qos });
  return {
    received: () => sub.received,
    dropped: () => 0,
    lastReceivedAt: () => sub.lastReceivedAt,
    latency: () => sub.latency.summary(),
    close: () => sub.close(),
  };
}

/** Runs one target in one scenario; a failure becomes a run with `error`, so the other runs still happen. */
async function runOneOrRecord(servers: Servers, options: RelayOptions, target: Target, publishers: number, qos: 0 | 1): Promise<RelayRun> {
  try {
    return await runOne(servers, options, target, publishers, qos);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log(`${target}, ${publishers} → 1, QoS ${qos}: FAILED: ${error}`);
    return {
      target, publishers, qos, error, windowMs: 0, receivedPerSec: 0, sent: 0, acked: 0, received: 0, droppedAnnounced: 0, lost: 0, settle: { ms: 0, timedOut: false },
      publishToSubscriberMs: null, cpu: { serverPercent: 0, loadGeneratorPercent: 0, subscriberPercent: 0 }, serverPeakRssBytes: 0, loadAverage1m: 0, loadErrors: {},
    };
  }
}

async function runOne(servers: Servers, options: RelayOptions, target: Target, publishers: number, qos: 0 | 1): Promise<RelayRun> {
  const label = `${target}, ${publishers} → 1, QoS ${qos}`;
  const loadAverage1m = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  // A fresh bare aedes per run: under a flood it can crash as its clients leave (field notes), which must not end the benchmark.
  const peer = target === 'bare aedes' ? await startBareAedes() : undefined;
  let subscriber: Subscriber | undefined;
  let load: LoadProcess | undefined;
  try {
    const serverPid = peer ? peer.pid : servers.hub.pid;
    const mqttUrl = peer ? peer.url : servers.hub.mqttUrl;
    subscriber = peer ? await subscribeMqtt(peer.url, qos) : await subscribeHub(servers, prefixFor(publishers, qos));
    const countersBefore = peer ? undefined : await readHubCounters(servers.hub.httpUrl, servers.adminToken);
    load = startLoadProcess({
      hubUrl: servers.hub.httpUrl,
      mqttUrl,
      credentialsFile: peer ? servers.peerCredentials : servers.hubCredentials,
      devices: publishers,
      idPrefix: prefixFor(publishers, qos),
      qos,
      inflight: options.inflight,
      maxDurationMs: options.warmupMs + options.durationMs + 60_000,
      logFile: join(servers.workDir, `load-${peer ? 'aedes' : 'hub'}-${publishers}-qos${qos}.log`),
    });
    await load.publishing;
    await sleep(options.warmupMs);

    const loadPid = load.pid;
    const sub = subscriber;
    const mark = () => ({ at: performance.now(), received: sub.received(), server: readProc(serverPid), load: readProc(loadPid), self: process.cpuUsage() });
    const start = mark();
    log(`${label}: window open (${(options.durationMs / 1000).toFixed(0)} s)`);
    await sleep(options.durationMs);
    const end = mark();
    const windowMs = end.at - start.at;
    const self = process.cpuUsage(start.self);

    const stopped = await load.stop();
    load = undefined;
    const report = stopped.report;
    if (!report) throw new Error(`the load generator gave no report (code ${stopped.code}, signal ${stopped.signal})`);
    const settled = await settle(subscriber, report.acked, serverPid, options.settleTimeoutMs);
    const crashed = peer?.exitStatus();
    if (crashed) throw new Error(crashed);
    const countersAfter = peer ? undefined : await readHubCounters(servers.hub.httpUrl, servers.adminToken);

    const received = subscriber.received();
    const dropped = subscriber.dropped();
    const run: RelayRun = {
      target,
      publishers,
      qos,
      windowMs,
      receivedPerSec: ((end.received - start.received) * 1000) / windowMs,
      sent: report.sent,
      acked: report.acked,
      received,
      droppedAnnounced: dropped,
      lost: report.acked - received - dropped,
      settle: settled,
      otherDevicesEvents: subscriber.others?.(),
      hubCounters:
        countersBefore && countersAfter
          ? {
              stored: (countersAfter.pointsWritten - countersBefore.pointsWritten) / POINTS_PER_MESSAGE,
              dashboardDropped: countersAfter.dashboardDropped - countersBefore.dashboardDropped,
              dashboardCutOff: countersAfter.dashboardSlowDisconnects - countersBefore.dashboardSlowDisconnects,
            }
          : undefined,
      publishToSubscriberMs: subscriber.latency(),
      cpu: {
        serverPercent: cpuPercent(start.server, end.server),
        loadGeneratorPercent: cpuPercent(start.load, end.load),
        subscriberPercent: ((self.user + self.system) / 1000 / windowMs) * 100,
      },
      serverPeakRssBytes: Math.max(end.server.peakRssBytes, end.server.rssBytes),
      loadAverage1m,
      loadErrors: report.errors,
    };
    const cut = run.hubCounters?.dashboardCutOff ? `, the hub cut the dashboard off ${run.hubCounters.dashboardCutOff}×` : '';
    log(`${label}: ${int(run.receivedPerSec)} msgs/s received; sent ${int(run.sent)}, acked ${int(run.acked)}, received ${int(received)}, lost ${int(run.lost)}${cut}`);
    return run;
  } catch (err) {
    // A peer that died shows up first as whatever touched it (/proc, its socket): name the death instead.
    if (peer) await sleep(200);
    const crashed = peer?.exitStatus();
    throw crashed ? new Error(crashed) : err;
  } finally {
    if (load) await load.stop(5000);
    subscriber?.close();
    await peer?.stop();
  }
}

/** A load message carries temperature, humidity and t: three stored points. */
const POINTS_PER_MESSAGE = 3;

/**
 * After the load: waits until the subscriber has everything that was
 * acknowledged, or the server has gone quiet (under 5 % of a core for a
 * second) with nothing new for 2 s, or `timeoutMs`. At QoS 0 flat out the
 * kernel's socket buffers can hold far more than the server handles in the
 * window, and the server works through them after the load has stopped.
 */
async function settle(subscriber: Subscriber, expected: number, serverPid: number, timeoutMs: number): Promise<{ ms: number; timedOut: boolean }> {
  const started = Date.now();
  const samples: ProcSample[] = [];
  for (;;) {
    if (subscriber.received() + subscriber.dropped() >= expected) return { ms: Date.now() - started, timedOut: false };
    if (Date.now() - started > timeoutMs) return { ms: Date.now() - started, timedOut: true };
    try {
      samples.push(readProc(serverPid));
    } catch {
      return { ms: Date.now() - started, timedOut: false }; // the server is gone: nothing more will come
    }
    const secondAgo = samples.find((x) => x.at >= Date.now() - 1000);
    const last = samples[samples.length - 1] as ProcSample;
    const quiet = secondAgo !== undefined && last.at - secondAgo.at >= 700 && cpuPercent(secondAgo, last) < 5;
    if (quiet && Date.now() - Math.max(subscriber.lastReceivedAt(), started) > 2000) return { ms: Date.now() - started, timedOut: false };
    await sleep(250);
  }
}

function readProfile(dir: string): ProfileSummary | undefined {
  const file = mainThreadProfile(dir);
  if (!file) log(`no CPU profile was written in ${dir} (the hub must exit normally to write one)`);
  return file ? summariseProfile(file) : undefined;
}

function buildResult(options: RelayOptions, runs: RelayRun[], hubLogs: HubProcess['logs']) {
  const scenarios = options.publishers.flatMap((publishers) =>
    options.qos.map((qos) => {
      const find = (target: Target) => runs.find((r) => r.target === target && r.publishers === publishers && r.qos === qos) as RelayRun;
      const h = find('hub');
      const a = find('bare aedes');
      return { publishers, qos, hubPerSec: h.error ? null : h.receivedPerSec, bareAedesPerSec: a.error ? null : a.receivedPerSec };
    }),
  );
  return {
    options: { ...options, hubFlags: ['--device-rate', '0', '--ip-connect-rate', '0', ...options.hubArgs], store: 'sqlite (default)' },
    loadGenerator: 'device-sim load (child process, lite MQTT publisher), flat out: per publisher at most `inflight` messages not yet acknowledged (QoS 1) or not yet taken by the kernel (QoS 0)',
    subscribers: { hub: 'one dashboard socket subscribed to every device\'s telemetry', 'bare aedes': 'one MQTT client (bench process) on devices/+/telemetry at the scenario\'s QoS' },
    scenarios,
    runs,
    hubLogs,
  };
}

type Scenario = ReturnType<typeof buildResult>['scenarios'][number];

/**
 * 1 → 1 at QoS 1 is printed, not judged (issue 23): the hub stores each
 * message durably before its PUBACK and feeds a dashboard, bare aedes does
 * neither, and with one publisher that round trip is the whole figure.
 */
export function relayRows(scenarios: readonly Scenario[]): ScoreRow[] {
  return scenarios.map((s) => {
    const what = `relay ${s.publishers} → 1 QoS ${s.qos}, msgs/s`;
    if (s.publishers === 1 && s.qos === 1) {
      const ratio = s.hubPerSec !== null && s.bareAedesPerSec ? s.hubPerSec / s.bareAedesPerSec : null;
      return printedRow(what, s.hubPerSec === null ? '-' : int(s.hubPerSec), `bare aedes ${s.bareAedesPerSec === null ? '-' : int(s.bareAedesPerSec)}`, ratio, 'not judged: the hub stores durably before PUBACK, bare aedes does not');
    }
    return ratioRow(what, s.hubPerSec, s.bareAedesPerSec, 'bare aedes', int, { atLeast: RELAY_TARGET });
  });
}

type RelayResult = ReturnType<typeof buildResult>;

export function formatRelay(r: RelayResult, machine: MachineInfo): string {
  const title =
    `relay: msgs/s received by one subscriber, ${(r.options.durationMs / 1000).toFixed(0)} s window each, ` +
    `${r.options.inflight} in flight per publisher (${machine.cores} cores, Node ${machine.node})`;
  const details = columns(
    ['run', 'sent', 'acked', 'received', 'dropped (told)', 'lost', 'p50 / p99 ms', 'server CPU', 'load gen CPU', 'subscriber CPU', 'server RSS', 'load avg'],
    r.runs.filter((run) => !run.error).map((run) => [
      `${run.target}, ${run.publishers} → 1, QoS ${run.qos}`,
      int(run.sent),
      int(run.acked),
      int(run.received),
      int(run.droppedAnnounced),
      int(run.lost),
      run.publishToSubscriberMs ? `${run.publishToSubscriberMs.p50.toFixed(0)} / ${run.publishToSubscriberMs.p99.toFixed(0)}` : '-',
      pct(run.cpu.serverPercent),
      pct(run.cpu.loadGeneratorPercent),
      pct(run.cpu.subscriberPercent),
      mb(run.serverPeakRssBytes),
      run.loadAverage1m.toFixed(1),
    ]),
  );
  const failures = r.runs.filter((run) => run.error).map((run) => `  ${run.target}, ${run.publishers} → 1, QoS ${run.qos}: ${run.error}`);
  const hubNotes = r.runs
    .filter((run) => run.hubCounters && (run.hubCounters.dashboardCutOff > 0 || run.hubCounters.dashboardDropped > 0))
    .map((run) => `  hub, ${run.publishers} → 1, QoS ${run.qos}: the hub dropped ${int(run.hubCounters?.dashboardDropped ?? 0)} events for the dashboard socket and cut it off ${run.hubCounters?.dashboardCutOff ?? 0}× (reading too slowly)`);
  const busy = r.runs
    .filter((run) => run.settle.timedOut)
    .map((run) => `  ${run.target}, ${run.publishers} → 1, QoS ${run.qos}: still busy ${(run.settle.ms / 1000).toFixed(0)} s after the load stopped (queued in socket buffers); its "lost" counts what was still queued${run.target === 'hub' ? ', and the next run shared the CPU with that backlog' : ' (the process was then stopped)'}`);
  const notes = [...failures, ...hubNotes, ...busy];
  return `${title}\n${notes.length ? `\n${notes.join('\n')}\n` : ''}\nper run (CPU over the window, 100 % = one core; latency over every message received):\n${details}\n  hub warn / error log lines: ${r.hubLogs.warn} / ${r.hubLogs.error}`;
}
