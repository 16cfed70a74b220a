/**
 * Commands benchmark: the round trip API → device → result → dashboard.
 *
 * The hub runs as a child process (SQLite store); N provisioned responder
 * devices (device-sim's MQTT and WebSocket connections, in this process)
 * answer every command at once with `succeeded`; one dashboard socket
 * watches command events. Commands go out at a fixed rate, round robin over
 * the devices, and each is timed from its POST to the 202, to the device,
 * and to the dashboard event with its final state (the round trip).
 *
 * Two phases: idle (no other traffic), then under load, while device-sim's
 * load mode, as a separate process, sends QoS 1 telemetry from other
 * devices at 80 % of the ingest benchmark's rate: commands must not queue
 * behind telemetry. The same phases then run through the bare command
 * relay (an MQTT request/response through a bare broker with the same
 * device logic): the hub's round trip p99 may be at most 2 × the relay's in
 * each phase (issue 23).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HubApi, provisionDevices, writeCredentialsFile, type DeviceCredentials, type LoadReport } from '@iot-hub/device-sim';
import { CommandDriver, type PhaseRun } from './lib/command-driver.js';
import { CommandProbe } from './lib/command-probe.js';
import { buildResult, commandRows, formatResult, summarisePhase, type CommandsOptions, type LoadPhaseInfo, type PhaseName, type PhaseResult, type ProgressSecond, type ServerRun } from './lib/command-report.js';
import { int, pct } from './lib/format.js';
import { eventLoopDelayIn, fetchHubMetrics, ingestPushBackIn, pushBackBetween, type IngestPushBack } from './lib/hub-metrics.js';
import { startHubProcess } from './lib/hub-process.js';
import { startBareCommandRelay } from './lib/peers/bare-command-relay.js';
import { formatProfile, summariseProfile, mainThreadProfile } from './lib/cpu-profile.js';
import { startLoadProcess } from './lib/load-process.js';
import { pressureShare, readPressure, type PressureSample } from './lib/pressure.js';
import { cpuPercent, ProcSampler, type ProcSample } from './lib/proc-stats.js';
import { RESPONDER_COMMAND, ResponderFleet } from './lib/responders.js';
import { defineBenchmark, RESULTS_DIR } from './lib/harness.js';
import { publishedIngestRate } from './lib/ingest-rate.js';
import { BenchUsageError, benchLog, durationFlag, parseFlags, sleep, wholeFlag } from './lib/flags.js';

/** Share of the ingest benchmark's rate sent as telemetry in the load phase. */
export const LOAD_SHARE = 0.8;
/** Load phase rate when no ingest result is at hand: 80 % of 20,000 msgs/s, the ingest aim that bench/README.md records as met. */
export const DEFAULT_LOAD_RATE = 16_000;



export const COMMANDS_HELP = `npm run bench -- commands [options]

  --devices N          devices that answer commands (default 1000)
  --ws-devices N       how many of them use the WebSocket instead of MQTT (default 10)
  --rate N             commands/s, round robin over the devices (default 100)
  --duration D         measured window of each phase: 30s, 1m (default 30s)
  --warmup D           start of each phase whose commands are run but not counted (default 3s; 0 for none)
  --phases LIST        idle, load or idle,load (default idle,load)
  --load-devices N     telemetry devices in the load phase (default 1000)
  --load-rate N        telemetry msgs/s in the load phase (default: ${LOAD_SHARE * 100} % of "stored msgs/s" of the
                       latest flat-out ingest result in bench/results/; ${int(DEFAULT_LOAD_RATE)} when there is none)
  --command-timeout D  a command with no final state on the dashboard this long after its POST is lost (default 10s)
  --hub-arg ARG        extra hub flag, repeatable (e.g. --hub-arg=--log-level --hub-arg=warn)
  --hub-profile        run the hub with --cpu-prof and print where its CPU went (all phases;
                       costs the hub some CPU: compare with other profiled runs only)
  --no-peer            skip the bare command relay (the same phases through a server with no storage and
                       no checks, measured after the hub: the floor this machine puts under the figures)
  --keep-data          keep the hub's temp data dir and the hub and load generator logs
`;


export function parseCommandsArgs(argv: readonly string[]): CommandsOptions | 'help' {
  const values = parseFlags(argv, {
        devices: { type: 'string' },
        'ws-devices': { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        phases: { type: 'string' },
        'load-devices': { type: 'string' },
        'load-rate': { type: 'string' },
        'command-timeout': { type: 'string' },
        'hub-arg': { type: 'string', multiple: true },
        'hub-profile': { type: 'boolean' },
        'keep-data': { type: 'boolean' },
        'no-peer': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      });
  if (values.help) return 'help';
  const devices = wholeFlag('devices', values.devices, 1000);
  const wsDevices = wholeFlag('ws-devices', values['ws-devices'], Math.min(10, devices), 0);
  if (wsDevices > devices) throw new BenchUsageError(`--ws-devices (${wsDevices}) cannot be more than --devices (${devices})`);
  const rate = wholeFlag('rate', values.rate, 100);
  if (rate > 10_000) throw new BenchUsageError(`--rate must be at most 10000 commands/s, got ${rate}`);
  const phases = (values.phases ?? 'idle,load').split(',').map((p) => p.trim());
  for (const phase of phases) {
    if (phase !== 'idle' && phase !== 'load') throw new BenchUsageError(`--phases takes idle, load or idle,load, got "${values.phases}"`);
  }
  if (new Set(phases).size !== phases.length) throw new BenchUsageError(`--phases names a phase twice: "${values.phases}"`);
  return {
    devices,
    wsDevices,
    rate,
    durationMs: durationFlag('duration', values.duration, '30s'),
    warmupMs: values.warmup === '0' ? 0 : durationFlag('warmup', values.warmup, '3s'),
    phases: phases as PhaseName[],
    loadDevices: wholeFlag('load-devices', values['load-devices'], 1000),
    loadRate: values['load-rate'] === undefined ? undefined : wholeFlag('load-rate', values['load-rate'], 0),
    commandTimeoutMs: durationFlag('command-timeout', values['command-timeout'], '10s'),
    hubArgs: values['hub-arg'] ?? [],
    hubProfile: values['hub-profile'] ?? false,
    keepData: values['keep-data'] ?? false,
    peer: !(values['no-peer'] ?? false),
  };
}

/** The telemetry rate of the load phase: --load-rate, else 80 % of the published ingest figure (lib/ingest-rate.ts). */
export function loadRateFor(explicit: number | undefined, resultsDir = RESULTS_DIR): { rate: number; source: string } {
  if (explicit !== undefined) return { rate: explicit, source: '--load-rate' };
  const published = publishedIngestRate(resultsDir);
  if (published) return { rate: Math.round(published.storedPerSec * LOAD_SHARE), source: `${LOAD_SHARE * 100} % of ${int(published.storedPerSec)} stored msgs/s (${published.store}) in ${published.file}` };
  return { rate: DEFAULT_LOAD_RATE, source: `default (no published ingest result in bench/results/): ${LOAD_SHARE * 100} % of 20,000 msgs/s` };
}

const log = benchLog('commands');
const deviceIds = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(String(n).length, '0')}`);

/** Fails (exit 1) when a measured command did not succeed. */
export const commands = defineBenchmark({
  name: 'commands',
  description: 'command round trip API → device → result → dashboard, idle and under 80 % of ingest, vs the bare command relay in the same run',
  help: COMMANDS_HELP,
  parse: parseCommandsArgs,
  async measure(options, { workDir, machine }) {
    const loadRate = options.phases.includes('load') ? loadRateFor(options.loadRate) : undefined;
    if (loadRate) log(`load phase telemetry: ${int(loadRate.rate)} msgs/s (${loadRate.source})`);
    const hub = await measureHub(options, loadRate?.rate, workDir);
    let peer: ServerRun | null = null;
    if (options.peer) {
      log('the same phases through the bare command relay (no storage, no checks), every responder on MQTT');
      peer = await measurePeer(options, loadRate?.rate, workDir);
    }
    const result = buildResult({ options, loadRate, hub, peer });
    const problems = hub.phases.some((p) => p.counts.succeeded !== p.counts.sent) ? ['some measured commands did not succeed: see "errors" in the JSON'] : [];
    return { result, rows: commandRows(result), text: formatResult(result, machine), problems };
  },
});

/** A server the phases run against: the hub, or the bare peer. */
interface Target {
  label: string;
  pid: number;
  httpUrl: string;
  mqttUrl: string;
  adminToken: string;
  /** The hub's /metrics (event-loop delay, push-back); the peer has none. */
  hasMetrics: boolean;
  /** How many responders use the WebSocket (the peer has no device WebSocket). */
  wsDevices: number;
  /** Credentials for the responders and the load devices (the load's written to `loadCredentialsFile`). */
  credentials(responderIds: string[], loadIds: string[], loadCredentialsFile: string): Promise<DeviceCredentials[]>;
  /** Resolves once the server can take commands for every responder. */
  ready(responders: readonly DeviceCredentials[]): Promise<void>;
}

async function measureHub(options: CommandsOptions, loadRate: number | undefined, workDir: string): Promise<ServerRun> {
  const adminToken = randomBytes(24).toString('hex');
  const profileDir = join(workDir, 'profile');
  const hub = await startHubProcess({
    dataDir: join(workDir, 'data'),
    adminToken,
    logFile: join(workDir, 'hub.log'),
    extraArgs: options.hubArgs,
    nodeArgs: options.hubProfile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
  });
  log(`hub pid ${hub.pid} at ${hub.httpUrl} and ${hub.mqttUrl}`);
  try {
    const provision = (devices: { id: string; kind: string }[]) => provisionDevices({ hubUrl: hub.httpUrl, adminToken, devices, concurrency: 100 });
    const run = await measure(options, loadRate, workDir, {
      label: 'hub',
      pid: hub.pid,
      httpUrl: hub.httpUrl,
      mqttUrl: hub.mqttUrl,
      adminToken,
      hasMetrics: true,
      wsDevices: options.wsDevices,
      async credentials(responderIds, loadIds, loadCredentialsFile) {
        const responders = await provision(responderIds.map((id) => ({ id, kind: 'bench-responder' })));
        if (loadIds.length > 0) await writeCredentialsFile(loadCredentialsFile, await provision(loadIds.map((id) => ({ id, kind: 'load-sensor' }))));
        return responders;
      },
      ready: (responders) => waitForCapabilities(new HubApi(hub.httpUrl, adminToken), responders),
    });
    return { ...run, logs: hub.logs };
  } finally {
    const ended = await hub.stop();
    if (ended.killed) log('the hub did not stop within 15 s of SIGTERM: killed');
    if (options.hubProfile) printHubProfile(profileDir);
  }
}

async function measurePeer(options: CommandsOptions, loadRate: number | undefined, workDir: string): Promise<ServerRun> {
  const peer = await startBareCommandRelay();
  try {
    return await measure(options, loadRate, workDir, {
      label: peer.name,
      pid: peer.pid,
      httpUrl: peer.httpUrl,
      mqttUrl: peer.mqttUrl,
      adminToken: 'none',
      hasMetrics: false,
      wsDevices: 0,
      async credentials(responderIds, loadIds, loadCredentialsFile) {
        // It checks no credentials: any token will do.
        if (loadIds.length > 0) await writeCredentialsFile(loadCredentialsFile, loadIds.map((id) => ({ id, kind: 'load-sensor', token: 'none' })));
        return responderIds.map((id) => ({ id, kind: 'bench-responder', token: 'none' }));
      },
      // Its devices send hello and subscribe as they connect; no registry to wait for.
      ready: () => sleep(500),
    });
  } catch (err) {
    // A peer that died says why better than the error its death caused here.
    const status = peer.exitStatus();
    throw status ? new Error(status) : err;
  } finally {
    await peer.stop();
  }
}

/** Connects the responders and a dashboard socket to `target` and runs every phase. */
async function measure(options: CommandsOptions, loadRate: number | undefined, workDir: string, target: Target): Promise<Omit<ServerRun, 'logs'>> {
  const sampler = new ProcSampler(target.pid);
  sampler.start(1000);
  let driver: CommandDriver | undefined;
  const probe = new CommandProbe((command, at) => driver?.dashboardEvent(command, at));
  let fleet: ResponderFleet | undefined;
  try {
    await probe.connect(target.httpUrl, target.adminToken);
    const provisionStart = Date.now();
    const responderIds = deviceIds('cmd-', options.devices);
    const loadCredentialsFile = join(workDir, `load-devices-${target.pid}.json`);
    const responders = await target.credentials(responderIds, loadRate === undefined ? [] : deviceIds('load-', options.loadDevices), loadCredentialsFile);
    const provisionMs = Date.now() - provisionStart;
    log(`${target.label}: provisioned ${options.devices + (loadRate === undefined ? 0 : options.loadDevices)} devices in ${(provisionMs / 1000).toFixed(1)} s`);

    const connectStart = Date.now();
    fleet = await ResponderFleet.start({
      hubUrl: target.httpUrl,
      mqttUrl: target.mqttUrl,
      devices: responders,
      wsDevices: target.wsDevices,
      onCommand: (deviceId, command, at) => driver?.deviceReceived(deviceId, command, at),
    });
    await target.ready(responders);
    const connectMs = Date.now() - connectStart;
    log(`${target.label}: ${fleet.count('mqtt')} MQTT and ${fleet.count('ws')} WebSocket responders online and declared "${RESPONDER_COMMAND}" in ${(connectMs / 1000).toFixed(1)} s`);

    const responderFleet = fleet;
    driver = new CommandDriver({
      httpUrl: target.httpUrl,
      adminToken: target.adminToken,
      deviceIds: responderIds,
      transportOf: (id) => responderFleet.transportOf(id),
      command: RESPONDER_COMMAND,
      timeoutMs: options.commandTimeoutMs,
    });
    const phases: PhaseResult[] = [];
    for (const name of options.phases) {
      phases.push(await runPhase(name, { options, target, sampler, driver, workDir, loadCredentialsFile, loadRate: loadRate ?? 0 }));
    }
    return {
      label: target.label,
      phases,
      responders: { mqtt: fleet.count('mqtt'), ws: fleet.count('ws'), stats: fleet.stats },
      provisionMs,
      connectMs,
      unmatched: driver.strays,
      dashboard: { commandEvents: probe.events, overflows: probe.overflows, dropped: probe.dropped },
      peakRssBytes: sampler.peakRssBytes,
      timeline: sampler.samples.map((s, i, all) => ({ at: s.at, cpuPercent: i === 0 ? null : cpuPercent(all[i - 1] as ProcSample, s), rssBytes: s.rssBytes })),
    };
  } finally {
    driver?.close();
    probe.close();
    await fleet?.stop();
    sampler.stop();
  }
}

/** The profile covers the hub's whole life: start, provisioning and every phase. */
function printHubProfile(profileDir: string): void {
  const file = mainThreadProfile(profileDir);
  if (!file) log(`no CPU profile was written in ${profileDir} (the hub must exit normally to write one)`);
  else process.stdout.write(`\n${formatProfile(summariseProfile(file))}\n`);
}

/** Waits until the hub shows every responder online with the benchmark's command declared (its hello processed). */
async function waitForCapabilities(api: HubApi, devices: readonly DeviceCredentials[], timeoutMs = 30_000): Promise<void> {
  const ids = new Set(devices.map((d) => d.id));
  const deadline = Date.now() + timeoutMs;
  let ready = 0;
  while (Date.now() < deadline) {
    const { devices: views } = await api.listDevices();
    ready = views.filter((v) => ids.has(v.id) && v.presence.status === 'online' && v.capabilities?.commands[RESPONDER_COMMAND] !== undefined).length;
    if (ready === ids.size) return;
    await sleep(250);
  }
  throw new Error(`only ${ready} of ${ids.size} responders were online with "${RESPONDER_COMMAND}" declared after ${timeoutMs / 1000} s`);
}

interface PhaseContext {
  options: CommandsOptions;
  target: Target;
  sampler: ProcSampler;
  driver: CommandDriver;
  workDir: string;
  loadCredentialsFile: string;
  loadRate: number;
}

async function runPhase(name: PhaseName, ctx: PhaseContext): Promise<PhaseResult> {
  const { options, sampler, driver } = ctx;
  let load: ReturnType<typeof startLoadProcess> | undefined;
  let loadSampler: ProcSampler | undefined;
  if (name === 'load') {
    log(`${ctx.target.label}: load phase: starting device-sim load (${int(options.loadDevices)} devices, ${int(ctx.loadRate)} msgs/s)`);
    load = startLoadProcess({
      hubUrl: ctx.target.httpUrl,
      mqttUrl: ctx.target.mqttUrl,
      credentialsFile: ctx.loadCredentialsFile,
      devices: options.loadDevices,
      idPrefix: 'load-',
      rate: ctx.loadRate,
      maxDurationMs: options.warmupMs + options.durationMs + options.commandTimeoutMs + 120_000,
      logFile: join(ctx.workDir, 'load.log'),
    });
    await load.publishing;
    loadSampler = new ProcSampler(load.pid);
    loadSampler.start(1000);
  }

  log(`${ctx.target.label}: ${name} phase: ${int(options.rate)} commands/s for ${(options.warmupMs / 1000).toFixed(0)} s warm-up + ${(options.durationMs / 1000).toFixed(0)} s measured`);
  const marks: { hub?: ProcSample; load?: ProcSample; cpu?: NodeJS.CpuUsage; at?: number; loadAcked?: number; pressure?: PressureSample; pushBack?: Promise<IngestPushBack | undefined> } = {};
  // This process's own event loop: every time here is taken on it, so its stalls (GC of 1,000
  // client connections, say) are in every figure. 1 ms resolution.
  const benchLoop = monitorEventLoopDelay({ resolution: 1 });
  /** Once a second over the whole phase (warm-up included): what the progress line shows. */
  const seconds: ProgressSecond[] = [];
  let lastPressure = readPressure();
  let run: PhaseRun;
  try {
    run = await driver.runPhase({
      rate: options.rate,
      durationMs: options.durationMs,
      warmupMs: options.warmupMs,
      onMeasuring: () => {
        marks.hub = sampler.sample();
        marks.load = loadSampler?.sample();
        marks.cpu = process.cpuUsage();
        benchLoop.reset();
        benchLoop.enable();
        marks.at = Date.now();
        marks.loadAcked = load?.lastProgress?.acked;
        marks.pressure = readPressure();
        // Resets the hub's event-loop delay histogram: the scrape after the window covers the window.
        // One scrape: it resets the hub's event-loop delay histogram (the one after the window
        // covers the window) and reads the push-back counters. Each scrape costs the hub some CPU.
        if (ctx.target.hasMetrics) marks.pushBack = fetchHubMetrics(ctx.target.httpUrl, ctx.target.adminToken).then((text) => (text === undefined ? undefined : ingestPushBackIn(text)));
      },
      onProgress: (p) => {
        const s = sampler.samples;
        const hubCpu = s.length >= 2 ? cpuPercent(s[s.length - 2] as ProcSample, s[s.length - 1] as ProcSample) : undefined;
        const lp = load?.lastProgress;
        const pressure = readPressure();
        const share = pressureShare(lastPressure, pressure);
        lastPressure = pressure;
        seconds.push({
          elapsedSec: Math.round(p.elapsedMs / 1000),
          warmingUp: p.warmingUp,
          roundTripP50: p.lastSecond?.p50 ?? null,
          roundTripP99: p.lastSecond?.p99 ?? null,
          inFlight: p.inFlight,
          hubCpuPercent: hubCpu ?? null,
          telemetryAckedPerSec: lp?.ackedPerSec ?? null,
          machinePressure: share,
        });
        log(
          `${ctx.target.label === 'hub' ? '' : `${ctx.target.label} `}${name} ${(p.elapsedMs / 1000).toFixed(0).padStart(3)}s${p.warmingUp ? ' (warm-up)' : ''}  sent ${p.sent}  finished ${p.finished}  in flight ${p.inFlight}` +
            (p.lastSecond ? `  round trip p50 ${p.lastSecond.p50.toFixed(1)} ms p99 ${p.lastSecond.p99.toFixed(1)} ms` : '') +
            (hubCpu === undefined ? '' : `  ${ctx.target.label === 'hub' ? 'hub' : 'server'} CPU ${pct(hubCpu)}`) +
            (lp ? `  telemetry ${int(lp.ackedPerSec)} acked/s` : '') +
            (share ? `  machine waiting for CPU ${pct(share.cpuSome)} I/O ${pct(share.ioSome)}` : ''),
        );
      },
    });
  } catch (err) {
    await load?.stop();
    throw err;
  }
  benchLoop.disable();
  const endHub = sampler.sample();
  const endLoad = loadSampler?.sample();
  const cpu = process.cpuUsage(marks.cpu);
  const wallMs = Date.now() - (marks.at ?? Date.now());
  const loadAckedEnd = load?.lastProgress?.acked;
  const machinePressure = pressureShare(marks.pressure, readPressure());
  const { hasMetrics, httpUrl, adminToken } = ctx.target;
  const endText = hasMetrics ? await fetchHubMetrics(httpUrl, adminToken) : undefined;
  const hubEventLoopDelay = (endText === undefined ? undefined : eventLoopDelayIn(endText)) ?? null;
  const pushBackStart = await marks.pushBack;
  const pushBackEnd = endText === undefined ? undefined : ingestPushBackIn(endText);
  const pushBack = pushBackStart && pushBackEnd ? pushBackBetween(pushBackStart, pushBackEnd) : undefined;
  const hubPushBack = pushBack && wallMs > 0 ? { ...pushBack, pausedPercent: (pushBack.pausedSeconds * 100_000) / wallMs } : null;

  let loadInfo: LoadPhaseInfo | undefined;
  if (load) {
    loadSampler?.stop();
    const stopped = await load.stop();
    const { perDevice: _perDevice, ...report } = stopped.report ?? ({ perDevice: [] } as unknown as LoadReport);
    loadInfo = {
      targetRate: ctx.loadRate,
      report: stopped.report ? report : null,
      exit: { code: stopped.code, signal: stopped.signal },
      cpuPercent: marks.load && endLoad ? cpuPercent(marks.load, endLoad) : null,
      ackedPerSecMeasured: marks.loadAcked !== undefined && loadAckedEnd !== undefined && wallMs > 0 ? ((loadAckedEnd - marks.loadAcked) * 1000) / wallMs : null,
    };
    if (!stopped.report) log(`the load generator ended without a report (code ${stopped.code}, signal ${stopped.signal}; see ${join(ctx.workDir, 'load.log')})`);
    // Let the hub finish with the load's drain before anything else is measured.
    await sleep(1000);
  }
  return summarisePhase(name, options, run, {
    hubCpuPercent: marks.hub && endHub ? cpuPercent(marks.hub, endHub) : null,
    benchCpuPercent: wallMs > 0 ? ((cpu.user + cpu.system) / 1000 / wallMs) * 100 : null,
    benchEventLoopDelay: benchLoop.count > 0 ? { p50Ms: benchLoop.percentile(50) / 1e6, p99Ms: benchLoop.percentile(99) / 1e6, maxMs: benchLoop.max / 1e6 } : null,
    machinePressure,
    hubEventLoopDelay,
    hubPushBack,
    load: loadInfo,
    seconds,
  });
}
