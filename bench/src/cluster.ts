/**
 * Cluster benchmark: the same offered load through one hub and through three
 * cluster nodes behind HAProxy, in one run, then a node killed.
 *
 *   1. single   one hub as users run it by default with InfluxDB
 *               (`--store influx`, SQLite registry), devices straight to it
 *   2. cluster  PostgreSQL, Redis, InfluxDB, three `--cluster` nodes and
 *               HAProxy (engines' startLocalCluster, as `npm run cluster`),
 *               devices through HAProxy
 *
 * In each: the load devices publish at a fixed rate (QoS 1); over the
 * steady part of the window (after a 2 s warm-up) the CPU of every process
 * of the deployment (hubs, postgres with its backends, redis-server,
 * haproxy, influxd) ÷ messages the hubs acknowledged; in the cluster also
 * Redis commands and PostgreSQL commits ÷ messages. Then command round
 * trips, one at a time: the API of one node (node 2) for devices held by the
 * other two, against the single hub's. Last, kill -9 of a node with devices
 * connected through HAProxy: when each of its devices that reconnects is
 * back (its CONNACK), and when those that do not are marked offline
 * `node-lost` (their presence's `since`, the hub's clock on this machine).
 *
 * On 2 cores three nodes cannot carry more than one: the rows judge the
 * overhead of the cluster at a load both can carry.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { startLocalCluster, type LocalCluster } from '@iot-hub/engines';
import { isFinalCommandState, type CommandView, type DashboardEvent, type DashboardEventKind, type DeviceView } from '@iot-hub/protocol';
import { HubApiError, MqttDevice, provisionDevices as provisionOnce, runLoad, type LoadReport } from '@iot-hub/device-sim';
import { finishRun } from './lib/harness.js';
import { boundRow, ratioRow, type ScoreRow } from './lib/scoreboard.js';
import { summary, type Summary } from './lib/command-driver.js';
import { DashboardSocketProbe } from './lib/dashboard-socket.js';
import { pgCommits, redisCommandCalls } from './lib/engine-counters.js';
import { benchLog, durationFlag, parseFlags, sleep, wholeFlag } from './lib/flags.js';
import { int, ms, pct, table } from './lib/format.js';
import { readHubCounters } from './lib/hub-counters.js';
import { startHubProcess, type HubProcess } from './lib/hub-process.js';
import { startInfluxd, type BenchInfluxd } from './lib/influxd.js';
import { machineInfo } from './lib/machine.js';
import { formatProfile, mainThreadProfile, summariseProfile } from './lib/cpu-profile.js';
import { treeCpuMs } from './lib/proc-tree.js';
import { RESPONDER_CAPABILITIES, RESPONDER_COMMAND } from './lib/responders.js';

export const CLUSTER_DESCRIPTION =
  'one hub vs three cluster nodes behind HAProxy at the same load: CPU per message over every process, Redis commands and PostgreSQL commits per message, cross-node command round trip, kill -9 failover';

export const CLUSTER_HELP = `npm run bench -- cluster [options]

  --devices N            load devices (default 500)
  --rate R               offered messages/s, all load devices together (default 2000)
  --duration D           publishing window in each deployment (default 20s)
  --commands N           command round trips in each deployment, one at a time (default 200)
  --failover-devices N   devices through HAProxy when a node is killed, reconnecting (default 300)
  --silent-devices N     devices through HAProxy that do not reconnect: timed until node-lost (default 30)
  --lease-sec S          the nodes' --node-lease-sec (default 10, the hub's default)
  --keep-data            keep the temp dir (hub data and logs)
  --hub-profile          run the single hub and node-1 with --cpu-prof and print where their main threads went
`;

interface ClusterOptions {
  devices: number;
  rate: number;
  durationMs: number;
  commands: number;
  failoverDevices: number;
  silentDevices: number;
  leaseSec: number;
  keepData: boolean;
  hubProfile: boolean;
}

/** Values per load message (temperature, humidity, t): /metrics counts values. */
const POINTS_PER_MESSAGE = 3;
const WARM_UP_MS = 2000;
/** The idle window before the load. */
const IDLE_MS = 5000;
const RESPONDERS = 6;
/** Targets of issue 20. */
const TARGET = { cpuRatio: 1.2, redisPerMessage: 0.05, pgPerMessage: 0.01, rttRatio: 2 };
/** Hub flags every node and the single hub get: all bench devices come from 127.0.0.1 (see README, the per-address limits). */
const HUB_ARGS = ['--ip-connect-rate', '0', '--max-unauthenticated-per-ip', '1000000', '--max-http-connections-per-ip', '0'];

export function parseClusterArgs(argv: readonly string[]): ClusterOptions | 'help' {
  const v = parseFlags(argv, {
    devices: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    commands: { type: 'string' },
    'failover-devices': { type: 'string' },
    'silent-devices': { type: 'string' },
    'lease-sec': { type: 'string' },
    'keep-data': { type: 'boolean' },
    'hub-profile': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) return 'help';
  return {
    devices: wholeFlag('devices', v.devices, 500),
    rate: wholeFlag('rate', v.rate, 2000),
    durationMs: durationFlag('duration', v.duration, '20s'),
    commands: wholeFlag('commands', v.commands, 200),
    failoverDevices: wholeFlag('failover-devices', v['failover-devices'], 300, 0),
    silentDevices: wholeFlag('silent-devices', v['silent-devices'], 30, 0),
    leaseSec: wholeFlag('lease-sec', v['lease-sec'], 10, 2),
    keepData: v['keep-data'] ?? false,
    hubProfile: v['hub-profile'] ?? false,
  };
}

const log = benchLog('cluster');

/**
 * device-sim's provisioning, tried again (up to 3 times) when the request
 * did not get an answer or HAProxy had no server for it: on this busy
 * machine a node's health check sometimes times out under a provisioning
 * burst. A device provisioned twice is replaced (409 → delete → create).
 */
async function provisionDevices(options: Parameters<typeof provisionOnce>[0]): ReturnType<typeof provisionOnce> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await provisionOnce(options);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof HubApiError) || (err.status !== 0 && err.status !== 503)) throw err;
      log(`provisioning through ${options.hubUrl} failed (${err.message}); again`);
      await sleep(2000);
    }
  }
}

/** What one deployment is made of, for the shared measurements. */
interface Deployment {
  /** Where the API, provisioning and the load go (HAProxy in the cluster). */
  httpUrl: string;
  mqttUrl: string;
  /** Every process of the deployment by role: root pids of process trees. */
  pids(): Record<string, number | undefined>;
  /** Each hub's HTTP URL, for /metrics. */
  hubUrls: string[];
  /** Redis commands by name and PostgreSQL commits so far (cluster only). */
  engines?: () => Promise<EngineCounts>;
  /** Command round trips: the API node, and the nodes that hold the responders (MQTT URLs). */
  commandApiUrl: string;
  responderMqttUrls: string[];
}

interface EngineCounts {
  redis: Record<string, number>;
  pg: number;
}

interface Snapshot {
  at: number;
  cpuMs: Record<string, number>;
  points: number;
  engines?: EngineCounts;
}

/** What happened between two snapshots. */
interface Window {
  ms: number;
  messages: number;
  cpuMsByRole: Record<string, number>;
  cpuMsTotal: number;
  cpuPercentByRole: Record<string, number>;
  cpuPercentTotal: number;
  redisCommands?: number;
  /** Redis commands by name, most first. */
  redisByCommand?: Record<string, number>;
  pgCommits?: number;
}

function windowBetween(a: Snapshot, b: Snapshot): Window {
  const ms = b.at - a.at;
  const cpuMsByRole = Object.fromEntries(Object.keys(b.cpuMs).map((role) => [role, (b.cpuMs[role] ?? 0) - (a.cpuMs[role] ?? 0)]));
  const cpuMsTotal = Object.values(cpuMsByRole).reduce((sum, x) => sum + x, 0);
  const w: Window = {
    ms,
    messages: (b.points - a.points) / POINTS_PER_MESSAGE,
    cpuMsByRole,
    cpuMsTotal,
    cpuPercentByRole: Object.fromEntries(Object.entries(cpuMsByRole).map(([role, cpu]) => [role, (cpu / ms) * 100])),
    cpuPercentTotal: (cpuMsTotal / ms) * 100,
  };
  if (a.engines && b.engines) {
    const before = a.engines.redis;
    const byCommand = Object.entries(b.engines.redis)
      .map(([cmd, calls]) => [cmd, calls - (before[cmd] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((x, y) => y[1] - x[1]);
    w.redisByCommand = Object.fromEntries(byCommand);
    w.redisCommands = byCommand.reduce((sum, [, n]) => sum + n, 0);
    w.pgCommits = b.engines.pg - a.engines.pg;
  }
  return w;
}

interface LoadPhaseResult extends Window {
  load: LoadReport;
  /** The deployment with no device connected, before the load: its fixed cost. */
  idle: Window;
  cpuUsPerMessage: number;
  redisPerMessage?: number;
  pgPerMessage?: number;
}

export async function runCluster(argv: readonly string[]): Promise<number> {
  const options = parseClusterArgs(argv);
  if (options === 'help') {
    process.stdout.write(CLUSTER_HELP);
    return 0;
  }
  const machine = machineInfo();
  const startedAt = new Date();
  const workDir = mkdtempSync(join(tmpdir(), 'iot-hub-bench-cluster-'));
  log(`hub data and logs under ${workDir}`);
  const adminToken = randomBytes(24).toString('hex');
  let exitCode = 0;
  let influxd: BenchInfluxd | undefined;
  let hub: HubProcess | undefined;
  let cluster: LocalCluster<HubProcess> | undefined;
  try {
    // 1. One hub.
    influxd = await startInfluxd(join(workDir, 'influxd-single'));
    hub = await startHubProcess({
      dataDir: join(workDir, 'single'),
      adminToken,
      logFile: join(workDir, 'single.log'),
      extraArgs: ['--store', 'influx', '--influx-url', influxd.urlFor('single')],
      nodeArgs: options.hubProfile ? ['--cpu-prof', '--cpu-prof-dir', join(workDir, 'profile-single')] : [],
    });
    const single = hub;
    const singleInflux = influxd;
    log(`single hub pid ${single.pid} at ${single.httpUrl}`);
    const singleDeployment: Deployment = {
      httpUrl: single.httpUrl,
      mqttUrl: single.mqttUrl,
      pids: () => ({ hub: single.pid, influxd: singleInflux.pid }),
      hubUrls: [single.httpUrl],
      commandApiUrl: single.httpUrl,
      responderMqttUrls: [single.mqttUrl],
    };
    const singleLoad = await loadPhase('single', singleDeployment, options, adminToken);
    const singleRtt = await commandPhase('single', singleDeployment, options, adminToken);
    const singleLogs = single.logs;
    await single.stop();
    hub = undefined;
    await singleInflux.stop();
    influxd = undefined;

    // 2. Three nodes behind HAProxy.
    log('starting PostgreSQL, Redis, InfluxDB, 3 nodes and HAProxy');
    cluster = await startLocalCluster<HubProcess>({
      nodes: 3,
      adminToken,
      root: join(workDir, 'cluster'),
      leaseSec: options.leaseSec,
      args: HUB_ARGS,
      // deploy/haproxy.cfg's interval: a check also times out after it, and 500 ms checks failed under a busy machine (HAProxy answered 503).
      checkInterval: '2s',
      startNode: (spec) =>
        startHubProcess({
          dataDir: spec.dataDir,
          adminToken,
          logFile: join(workDir, `${spec.nodeId}.log`),
          extraArgs: spec.args,
          env: spec.env,
          nodeArgs: options.hubProfile && spec.index === 0 ? ['--cpu-prof', '--cpu-prof-dir', join(workDir, 'profile-node-1')] : [],
        }),
      stopNode: (node) => node.stop(),
    });
    const c = cluster;
    const haproxy = c.haproxy!;
    const nodeHttp = c.specs.map((s) => `http://127.0.0.1:${s.httpPort}`);
    const nodeMqtt = c.specs.map((s) => `mqtt://127.0.0.1:${s.mqttPort}`);
    const clusterDeployment: Deployment = {
      httpUrl: `http://127.0.0.1:${haproxy.httpPort}`,
      mqttUrl: `mqtt://127.0.0.1:${haproxy.mqttPort}`,
      pids: () => ({
        ...Object.fromEntries(c.nodes.map((n, i) => [`hub ${c.specs[i]!.nodeId}`, n.pid])),
        postgres: c.pg.pid,
        'redis-server': c.redis.pid,
        haproxy: haproxy.pid,
        influxd: c.influx.pid,
      }),
      hubUrls: nodeHttp,
      engines: async () => {
        const [redis, pg] = await Promise.all([redisCommandCalls(c.redis.url), pgCommits(c.pg.url)]);
        return { redis, pg };
      },
      // Node 2's API, devices held by nodes 1 and 3: every command crosses nodes.
      commandApiUrl: nodeHttp[1]!,
      responderMqttUrls: [nodeMqtt[0]!, nodeMqtt[2]!],
    };
    const clusterLoad = await loadPhase('cluster', clusterDeployment, options, adminToken);
    const clusterRtt = await commandPhase('cluster', clusterDeployment, options, adminToken);
    const failover = await failoverPhase(c, clusterDeployment, options, adminToken);
    const clusterLogs = c.nodes.map((n) => n.logs);

    const result = buildResult({ options, machine, startedAt, singleLoad, clusterLoad, singleRtt, clusterRtt, failover, logs: { single: singleLogs, cluster: clusterLogs } });
    exitCode = finishRun('cluster', { startedAt, machine }, argv, options, { result, rows: clusterRows(result), text: formatResult(result) });
  } catch (err) {
    log(`failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    exitCode = 1;
  } finally {
    await hub?.stop();
    await influxd?.stop();
    await cluster?.stop();
    if (options.hubProfile) {
      for (const which of ['single', 'node-1']) {
        const file = mainThreadProfile(join(workDir, `profile-${which}`));
        if (file) process.stdout.write(`\n${which}:\n${formatProfile(summariseProfile(file))}\n`);
        else log(`no CPU profile of ${which} (a hub writes one only when it exits normally)`);
      }
    }
    // A failed run keeps its logs.
    if (options.keepData || exitCode !== 0) log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  return exitCode;
}

async function loadPhase(name: string, d: Deployment, options: ClusterOptions, adminToken: string): Promise<LoadPhaseResult> {
  const width = String(options.devices).length;
  const devices = await provisionDevices({
    hubUrl: d.httpUrl,
    adminToken,
    devices: Array.from({ length: options.devices }, (_, i) => ({ id: `load-${String(i + 1).padStart(width, '0')}`, kind: 'load-sensor' })),
    concurrency: 50,
  });
  const snapshot = async (): Promise<Snapshot> => {
    const at = Date.now();
    const cpuMs = treeCpuMs(d.pids());
    const [counters, engines] = await Promise.all([Promise.all(d.hubUrls.map((u) => readHubCounters(u, adminToken))), d.engines?.()]);
    return { at, cpuMs, points: counters.reduce((sum, c) => sum + (c?.pointsWritten ?? 0), 0), ...(engines ? { engines } : {}) };
  };
  // Provisioning's own commits and statistics settle first (PostgreSQL flushes them about once a second).
  await sleep(2000);
  const idleFrom = await snapshot();
  await sleep(IDLE_MS);
  const idle = windowBetween(idleFrom, await snapshot());
  log(`${name}: idle ${pct(idle.cpuPercentTotal)} CPU over every process; ${int(options.rate)} msgs/s from ${devices.length} devices for ${options.durationMs / 1000} s`);
  let from: Promise<Snapshot> | undefined;
  let to: Promise<Snapshot> | undefined;
  const load = await runLoad({
    mqttUrl: d.mqttUrl,
    devices,
    durationMs: options.durationMs + WARM_UP_MS,
    qos: 1,
    rate: options.rate,
    progress: (line) => process.stderr.write(`[cluster] ${name}: ${line}\n`),
    onPhase: (phase) => {
      if (phase === 'publishing') from = sleep(WARM_UP_MS).then(snapshot);
      if (phase === 'draining') to = snapshot();
    },
  });
  if (!from || !to) throw new Error(`${name}: the load never reached its publishing window`);
  const w = windowBetween(await from, await to);
  const result: LoadPhaseResult = {
    ...w,
    load: { ...load, perDevice: undefined } as unknown as LoadReport,
    idle,
    cpuUsPerMessage: w.messages > 0 ? (w.cpuMsTotal * 1000) / w.messages : NaN,
  };
  if (w.redisCommands !== undefined && w.pgCommits !== undefined && w.messages > 0) {
    result.redisPerMessage = w.redisCommands / w.messages;
    result.pgPerMessage = w.pgCommits / w.messages;
  }
  log(`${name}: ${int(w.messages)} messages stored in ${(w.ms / 1000).toFixed(1)} s, ${result.cpuUsPerMessage.toFixed(1)} µs CPU each over every process`);
  return result;
}

/** A dashboard on the API node: when each command reached its final state. */
class CommandEnds extends DashboardSocketProbe {
  protected readonly kinds: readonly DashboardEventKind[] = ['command'];
  readonly ends = new Map<string, { state: string; at: number }>();
  readonly #waiters = new Map<string, () => void>();

  protected onEvent(event: DashboardEvent, at: number): void {
    if (event.event !== 'command') return;
    const view = event.command;
    if (!isFinalCommandState(view.state) || this.ends.has(view.id)) return;
    this.ends.set(view.id, { state: view.state, at });
    this.#waiters.get(view.id)?.();
  }

  wait(id: string, timeoutMs: number): Promise<void> {
    if (this.ends.has(id)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(id);
        resolve();
      }, timeoutMs);
      this.#waiters.set(id, () => {
        clearTimeout(timer);
        this.#waiters.delete(id);
        resolve();
      });
    });
  }
}

interface RttResult {
  sent: number;
  succeeded: number;
  /** POST sent → the API node's dashboard shows `succeeded`, ms. */
  roundTripMs: Summary | null;
}

/** Commands one at a time, round robin over responders held by `responderMqttUrls`, posted to `commandApiUrl`. */
async function commandPhase(name: string, d: Deployment, options: ClusterOptions, adminToken: string): Promise<RttResult> {
  const creds = await provisionDevices({
    hubUrl: d.httpUrl,
    adminToken,
    devices: Array.from({ length: RESPONDERS }, (_, i) => ({ id: `responder-${i + 1}`, kind: 'bench-responder' })),
  });
  const devices = creds.map((c, i) => new MqttDevice({ id: c.id, token: c.token, url: d.responderMqttUrls[i % d.responderMqttUrls.length]!, keepaliveSec: 60 }));
  for (const device of devices) {
    device.on('command', (command) => void device.sendResult({ id: command.id, status: 'succeeded' }).catch(() => {}));
  }
  const dash = new CommandEnds();
  try {
    await Promise.all(devices.map(async (device) => {
      await device.connect();
      await device.sendHello(RESPONDER_CAPABILITIES);
    }));
    await dash.connect(d.commandApiUrl, adminToken);
    const times: number[] = [];
    let succeeded = 0;
    // A few first ones warm the paths (connections to PostgreSQL, JIT); not counted.
    const warmUp = Math.min(20, Math.floor(options.commands / 10));
    for (let i = 0; i < options.commands + warmUp; i++) {
      const device = creds[i % creds.length]!;
      const sentAt = performance.now();
      const res = await fetch(`${d.commandApiUrl}/api/devices/${device.id}/commands`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: RESPONDER_COMMAND }),
      });
      const view = (await res.json()) as CommandView;
      if (res.status !== 202 && res.status !== 201) throw new Error(`${name}: command POST answered ${res.status}: ${JSON.stringify(view)}`);
      await dash.wait(view.id, 10_000);
      const end = dash.ends.get(view.id);
      if (i < warmUp) continue;
      if (end?.state === 'succeeded') {
        succeeded++;
        times.push(end.at - sentAt);
      }
    }
    const result = { sent: options.commands, succeeded, roundTripMs: summary(times) };
    log(`${name}: command round trip p50 ${ms(result.roundTripMs?.p50)} p99 ${ms(result.roundTripMs?.p99)} (${succeeded}/${options.commands} succeeded)`);
    return result;
  } finally {
    dash.close();
    await Promise.all(devices.map((device) => device.close().catch(() => {})));
  }
}

interface FailoverResult {
  victim: string;
  connected: number;
  /** Reconnecting devices the victim held. */
  lost: number;
  reconnected: number;
  /** kill → CONNACK through HAProxy of each lost device, ms. */
  reconnectMs: Summary | null;
  silentLost: number;
  silentMarked: number;
  /** kill → presence offline / node-lost (the hub's `since`), ms. */
  nodeLostMs: Summary | null;
  /** The documented bound: lease + half of it. */
  nodeLostBoundMs: number;
}

/** Devices through HAProxy; node 2 killed with SIGKILL; its devices timed until back, or until node-lost. */
async function failoverPhase(c: LocalCluster<HubProcess>, d: Deployment, options: ClusterOptions, adminToken: string): Promise<FailoverResult> {
  const total = options.failoverDevices + options.silentDevices;
  const creds = await provisionDevices({
    hubUrl: d.httpUrl,
    adminToken,
    devices: Array.from({ length: total }, (_, i) => ({ id: `failover-${String(i + 1).padStart(4, '0')}`, kind: 'failover' })),
  });
  interface Tracked {
    id: string;
    silent: boolean;
    client: mqtt.MqttClient;
    lostAt?: number;
    backAt?: number;
  }
  let killAt: number | undefined;
  const tracked: Tracked[] = [];
  const connectBatch = async (batch: typeof creds, silent: boolean): Promise<void> => {
    await Promise.all(
      batch.map(async (cred) => {
        // mqtt.js retries every 500 ms: firmware's first retry after a lost link is about that soon (device-sim's backoff starts at 500 ms).
        const client = await mqtt.connectAsync(d.mqttUrl, { clientId: cred.id, username: cred.id, password: cred.token, reconnectPeriod: silent ? 0 : 500, keepalive: 60, connectTimeout: 10_000 });
        const t: Tracked = { id: cred.id, silent, client };
        client.on('close', () => {
          if (killAt !== undefined && t.lostAt === undefined) t.lostAt = Date.now();
        });
        client.on('connect', () => {
          if (t.lostAt !== undefined && t.backAt === undefined) t.backAt = Date.now();
        });
        client.on('error', () => {});
        tracked.push(t);
      }),
    );
  };
  try {
    // The first `failoverDevices` reconnect; the last `silentDevices` do not.
    for (let i = 0; i < options.failoverDevices; i += 100) await connectBatch(creds.slice(i, Math.min(i + 100, options.failoverDevices)), false);
    await connectBatch(creds.slice(options.failoverDevices), true);
    await sleep(1000);
    const victimIndex = 1;
    const victim = c.specs[victimIndex]!.nodeId;
    log(`failover: ${tracked.length} devices connected through HAProxy; kill -9 of ${victim}`);
    killAt = Date.now();
    process.kill(c.nodes[victimIndex]!.pid, 'SIGKILL');
    const boundMs = options.leaseSec * 1500;
    const deadline = killAt + boundMs + 15_000;
    const marked = new Map<string, number>();
    while (Date.now() < deadline) {
      await sleep(250);
      const lost = tracked.filter((t) => t.lostAt !== undefined);
      const silentLost = lost.filter((t) => t.silent && !marked.has(t.id));
      await Promise.all(
        silentLost.map(async (t) => {
          const res = await fetch(`${d.httpUrl}/api/devices/${t.id}`, { headers: { authorization: `Bearer ${adminToken}` } }).catch(() => null);
          if (!res?.ok) return;
          const view = (await res.json()) as DeviceView;
          if (view.presence.status === 'offline' && view.presence.reason === 'node-lost') marked.set(t.id, view.presence.since - (killAt as number));
        }),
      );
      const reconnecting = lost.filter((t) => !t.silent);
      if (Date.now() - killAt > 3000 && reconnecting.every((t) => t.backAt !== undefined) && lost.filter((t) => t.silent).every((t) => marked.has(t.id))) break;
    }
    const lost = tracked.filter((t) => !t.silent && t.lostAt !== undefined);
    const back = lost.filter((t) => t.backAt !== undefined);
    const silentLost = tracked.filter((t) => t.silent && t.lostAt !== undefined);
    const result: FailoverResult = {
      victim,
      connected: tracked.length,
      lost: lost.length,
      reconnected: back.length,
      reconnectMs: summary(back.map((t) => (t.backAt as number) - (killAt as number))),
      silentLost: silentLost.length,
      silentMarked: marked.size,
      nodeLostMs: summary([...marked.values()]),
      nodeLostBoundMs: boundMs,
    };
    log(`failover: ${back.length}/${lost.length} back, p50 ${ms(result.reconnectMs?.p50)} max ${ms(result.reconnectMs?.max)}; node-lost ${marked.size}/${silentLost.length}, max ${ms(result.nodeLostMs?.max)}`);
    return result;
  } finally {
    await Promise.all(tracked.map((t) => t.client.endAsync(true).catch(() => {})));
  }
}

interface BuildInput {
  options: ClusterOptions;
  machine: ReturnType<typeof machineInfo>;
  startedAt: Date;
  singleLoad: LoadPhaseResult;
  clusterLoad: LoadPhaseResult;
  singleRtt: RttResult;
  clusterRtt: RttResult;
  failover: FailoverResult;
  logs: unknown;
}

function buildResult(i: BuildInput) {
  const cpuRatio = i.clusterLoad.cpuUsPerMessage / i.singleLoad.cpuUsPerMessage;
  const rttRatio = i.clusterRtt.roundTripMs && i.singleRtt.roundTripMs ? i.clusterRtt.roundTripMs.p99 / i.singleRtt.roundTripMs.p99 : null;
  const f = i.failover;
  return {
    benchmark: 'cluster',
    startedAt: i.startedAt.toISOString(),
    command: `npm run bench -- cluster ${process.argv.slice(3).join(' ')}`.trim(),
    machine: i.machine,
    options: i.options,
    single: { load: i.singleLoad, commands: i.singleRtt },
    cluster: { load: i.clusterLoad, commands: i.clusterRtt, failover: f },
    verdicts: {
      cpuPerMessage: { ratio: cpuRatio, target: TARGET.cpuRatio, met: cpuRatio <= TARGET.cpuRatio },
      redisPerMessage: { value: i.clusterLoad.redisPerMessage ?? null, target: TARGET.redisPerMessage, met: (i.clusterLoad.redisPerMessage ?? Infinity) < TARGET.redisPerMessage },
      pgPerMessage: { value: i.clusterLoad.pgPerMessage ?? null, target: TARGET.pgPerMessage, met: (i.clusterLoad.pgPerMessage ?? Infinity) < TARGET.pgPerMessage },
      commandRoundTrip: { ratio: rttRatio, target: TARGET.rttRatio, met: rttRatio !== null && rttRatio <= TARGET.rttRatio },
      failover: {
        allReconnected: f.reconnected === f.lost && f.lost > 0,
        allNodeLostWithinBound: f.silentMarked === f.silentLost && (f.nodeLostMs?.max ?? Infinity) <= f.nodeLostBoundMs,
      },
    },
    logs: i.logs,
  };
}

type ClusterResult = ReturnType<typeof buildResult>;

const verdict = (met: boolean): string => (met ? 'met' : 'MISSED');

export function clusterRows(r: ClusterResult): ScoreRow[] {
  const s = r.single;
  const c = r.cluster;
  const f = c.failover;
  const v = r.verdicts;
  const msOf = (n: number): string => `${n.toFixed(1)} ms`;
  return [
    ratioRow('cluster: CPU per message, 3 nodes vs one hub', c.load.cpuUsPerMessage, s.load.cpuUsPerMessage, 'single hub', (n) => `${n.toFixed(1)} µs`, { atMost: TARGET.cpuRatio }),
    { ...boundRow('cluster: Redis commands per message', v.redisPerMessage.value, (n) => n.toFixed(4), { atMost: TARGET.redisPerMessage }), target: `< ${TARGET.redisPerMessage}`, verdict: v.redisPerMessage.value === null ? 'no figure' : v.redisPerMessage.met ? 'met' : 'missed' },
    { ...boundRow('cluster: PostgreSQL commits per message', v.pgPerMessage.value, (n) => n.toFixed(4), { atMost: TARGET.pgPerMessage }), target: `< ${TARGET.pgPerMessage}`, verdict: v.pgPerMessage.value === null ? 'no figure' : v.pgPerMessage.met ? 'met' : 'missed' },
    ratioRow('cluster: cross-node command round trip p99', c.commands.roundTripMs?.p99 ?? null, s.commands.roundTripMs?.p99 ?? null, 'single hub', msOf, { atMost: TARGET.rttRatio }),
    { what: 'cluster: failover, devices back / silent ones marked node-lost in time', figure: `${f.reconnected}/${f.lost}, ${f.silentMarked}/${f.silentLost}`, peer: '', ratio: null, target: 'all', verdict: v.failover.allReconnected && v.failover.allNodeLostWithinBound ? 'met' : 'missed' },
  ];
}

export function formatResult(r: ClusterResult): string {
  const s = r.single.load;
  const c = r.cluster.load;
  const v = r.verdicts;
  const f = r.cluster.failover;
  const topRedis = Object.entries(c.redisByCommand ?? {})
    .slice(0, 4)
    .map(([cmd, n]) => `${cmd} ${int(n)}`)
    .join(', ');
  const roles = (p: Window) =>
    Object.entries(p.cpuPercentByRole)
      .map(([role, x]) => `${role} ${pct(x)}`)
      .join(', ');
  const rtt = (x: RttResult) => `p50 ${ms(x.roundTripMs?.p50)} / p99 ${ms(x.roundTripMs?.p99)} / max ${ms(x.roundTripMs?.max)} (${x.succeeded}/${x.sent} succeeded)`;
  const title =
    `cluster: ${int(r.options.devices)} devices at ${int(r.options.rate)} msgs/s offered, QoS 1, ${(r.options.durationMs / 1000).toFixed(0)} s measured; one hub vs 3 nodes behind HAProxy ` +
    `(${r.machine.cores} cores, Node ${r.machine.node}, load average ${r.machine.loadAvgAtStart.join(' ')} at start)`;
  const rows: [string, string][] = [
    ['single: stored msgs/s', `${int(s.messages / (s.ms / 1000))}  (PUBACK p99 ${ms(s.load.ackLatencyMs?.p99)})`],
    ['cluster: stored msgs/s', `${int(c.messages / (c.ms / 1000))}  (PUBACK p99 ${ms(c.load.ackLatencyMs?.p99)})`],
    ['single: CPU per message', `${s.cpuUsPerMessage.toFixed(1)} µs  (${roles(s)})`],
    ['cluster: CPU per message', `${c.cpuUsPerMessage.toFixed(1)} µs  (${roles(c)})`],
    ['idle CPU, no device (single / cluster)', `${pct(s.idle.cpuPercentTotal)} / ${pct(c.idle.cpuPercentTotal)}  (cluster: ${roles(c.idle)}; Redis ${int(c.idle.redisCommands ?? 0)} commands, PostgreSQL ${int(c.idle.pgCommits ?? 0)} commits in ${(c.idle.ms / 1000).toFixed(0)} s)`],
    ['cluster ÷ single CPU', `${v.cpuPerMessage.ratio.toFixed(2)}  (target ≤ ${TARGET.cpuRatio}: ${verdict(v.cpuPerMessage.met)})`],
    ['Redis commands per message', `${v.redisPerMessage.value?.toFixed(4) ?? '-'}  (${int(c.redisCommands ?? 0)} for ${int(c.messages)}: ${topRedis}; target < ${TARGET.redisPerMessage}: ${verdict(v.redisPerMessage.met)})`],
    ['PostgreSQL commits per message', `${v.pgPerMessage.value?.toFixed(4) ?? '-'}  (${int(c.pgCommits ?? 0)} for ${int(c.messages)}; target < ${TARGET.pgPerMessage}: ${verdict(v.pgPerMessage.met)})`],
    ['single: command round trip', rtt(r.single.commands)],
    ['cross-node command round trip', rtt(r.cluster.commands)],
    ['cross-node ÷ single p99', `${v.commandRoundTrip.ratio?.toFixed(2) ?? '-'}  (target ≤ ${TARGET.rttRatio}: ${verdict(v.commandRoundTrip.met)})`],
    ['failover: devices back', `${f.reconnected}/${f.lost} of ${f.victim}'s (of ${f.connected}): p50 ${ms(f.reconnectMs?.p50)} / p99 ${ms(f.reconnectMs?.p99)} / max ${ms(f.reconnectMs?.max)}  (${v.failover.allReconnected ? 'all back' : 'NOT ALL BACK'})`],
    ['failover: marked node-lost', `${f.silentMarked}/${f.silentLost}: p50 ${ms(f.nodeLostMs?.p50)} / max ${ms(f.nodeLostMs?.max)}  (bound ${int(f.nodeLostBoundMs)} ms: ${verdict(v.failover.allNodeLostWithinBound)})`],
  ];
  return `${title}\n${table(rows)}`;
}
