/**
 * storm benchmark (issue 8): N provisioned devices connect with their
 * credentials as fast as the client can (bounded concurrency), then all
 * drop at once (sockets destroyed, no DISCONNECT, as in a network outage)
 * and reconnect at once. Reports connects/s (CONNACK 0, or the WebSocket
 * upgrade, which on the hub means authenticated) for both waves, failures
 * by reason, connect latency, and the hub's and the client's CPU. The same
 * waves against bare aedes (or bare ws), which checks no credentials, show
 * what the machine and the client allow at the time.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { deviceWsUrl } from '@iot-hub/device-sim';
import { formatProfile, summariseProfile, type ProfileSummary, mainThreadProfile } from './lib/cpu-profile.js';
import { BenchUsageError, benchLog, durationFlag, parseFlags, sleep, wholeFlag } from './lib/flags.js';
import { int, mb, ms, pct, table } from './lib/format.js';
import { startHubProcess } from './lib/hub-process.js';
import { IdleClientProcess, type WaveResult } from './lib/idle-client-process.js';
import type { Handshake } from './lib/idle-mqtt.js';
import type { machineInfo } from './lib/machine.js';
import { startBareAedes } from './lib/peers/bare-aedes.js';
import { startBareWs } from './lib/peers/bare-ws.js';
import { cpuPercent, ProcSampler, readProc, type ProcSample } from './lib/proc-stats.js';
import { readSched, waitingPercent } from './lib/run-delay.js';
import { fleetIds, formatProvisioning, provisionWithOwnHub, type ProvisioningReport } from './lib/timed-provisioning.js';
import { defineBenchmark } from './lib/harness.js';
import { boundRow, type ScoreRow } from './lib/scoreboard.js';

export const STORM_DESCRIPTION = '10,000 authenticated devices connect and reconnect: connects/s';

/** Target (issue 8): accepted connects per second, first connect and reconnect alike. */
const TARGET_PER_SEC = 2000;

export const STORM_HELP = `npm run bench -- storm [options]

  --devices N               devices (default 10000)
  --transport mqtt|ws       (default mqtt)
  --concurrency N           handshakes in progress at once (default 500)
  --handshake connect|device
                            connect: CONNECT (id, token, will) → CONNACK, or the
                            authenticated upgrade (default). device: then also
                            SUBSCRIBE devices/{id}/# and hello, as a device does
  --hold D                  time all are held before they drop (default 3s)
  --connect-timeout D       a handshake not done by then fails (default 30s)
  --provision-concurrency N POST /api/devices in flight (default 100)
  --hub-arg ARG             extra hub flag, repeatable
  --no-peer                 no bare aedes / bare ws reference run
  --hub-profile             run the hub with --cpu-prof and print where its CPU went
  --keep-data               keep the hub's temp data dir and logs
`;

type Transport = 'mqtt' | 'ws';

interface StormOptions {
  devices: number;
  transport: Transport;
  concurrency: number;
  handshake: Handshake;
  holdMs: number;
  connectTimeoutMs: number;
  provisionConcurrency: number;
  hubArgs: string[];
  peer: boolean;
  keepData: boolean;
  hubProfile: boolean;
}

function parseStormArgs(argv: readonly string[]): StormOptions | 'help' {
  const v = parseFlags(argv, {
    devices: { type: 'string' },
    transport: { type: 'string' },
    concurrency: { type: 'string' },
    handshake: { type: 'string' },
    hold: { type: 'string' },
    'connect-timeout': { type: 'string' },
    'provision-concurrency': { type: 'string' },
    'hub-arg': { type: 'string', multiple: true },
    'no-peer': { type: 'boolean' },
    'keep-data': { type: 'boolean' },
    'hub-profile': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) return 'help';
  if (v.transport !== undefined && v.transport !== 'mqtt' && v.transport !== 'ws') throw new BenchUsageError(`--transport must be mqtt or ws, got "${v.transport}"`);
  if (v.handshake !== undefined && v.handshake !== 'device' && v.handshake !== 'connect') throw new BenchUsageError(`--handshake must be connect or device, got "${v.handshake}"`);
  const devices = wholeFlag('devices', v.devices, 10_000);
  // The hub holds the new connections while the dropped ones may still be closing: both within its 20,000 fds.
  if (devices > 10_000) throw new BenchUsageError(`--devices ${devices}: at most 10,000 (the hub may hold old and new connections at once, 20,000 fds here)`);
  return {
    devices,
    transport: (v.transport ?? 'mqtt') as Transport,
    concurrency: wholeFlag('concurrency', v.concurrency, 500),
    handshake: (v.handshake ?? 'connect') as Handshake,
    holdMs: durationFlag('hold', v.hold, '3s'),
    connectTimeoutMs: durationFlag('connect-timeout', v['connect-timeout'], '30s'),
    provisionConcurrency: wholeFlag('provision-concurrency', v['provision-concurrency'], 100),
    hubArgs: v['hub-arg'] ?? [],
    peer: !(v['no-peer'] ?? false),
    keepData: v['keep-data'] ?? false,
    hubProfile: v['hub-profile'] ?? false,
  };
}

const log = benchLog('storm');

interface WaveFigures {
  wave: 'connect' | 'reconnect';
  accepted: number;
  ready: number;
  failed: number;
  failedBy: Record<string, number>;
  /** Wave start to the last accepted connection. */
  acceptWindowMs: number | null;
  /** Accepted ÷ that window: the figure against the target. */
  connectsPerSec: number | null;
  /** Wave start until every handshake had ended (done or failed). */
  wallMs: number;
  connectLatencyMs: WaveResult['connectLatencyMs'];
  readyLatencyMs: WaveResult['readyLatencyMs'];
  serverCpuPercent: number;
  /** The server's CPU time over the wave ÷ accepted: one core's worth of connects/s is 1000 ÷ this. */
  serverCpuMsPerConnect: number | null;
  /** % of the wave the server's event loop was ready but waited for a CPU (other work on the machine). */
  serverWaitingForCpuPercent: number | null;
  clientCpuPercent: number;
}

interface ServerStorm {
  server: string;
  handshake: Handshake;
  waves: WaveFigures[];
  /** Still held when the reconnect wave had ended, and closed by the server meanwhile. */
  heldAtEnd: number;
  lost: number;
  serverPeakRssBytes: number;
  serverLogs?: { warn: number; error: number; samples: string[] };
}

interface Server {
  name: string;
  pid: number;
  url: string;
  stop(): Promise<unknown>;
  logs?: { warn: number; error: number; samples: string[] };
}

export const stormBenchmark = defineBenchmark({
  name: 'storm',
  description: STORM_DESCRIPTION,
  help: STORM_HELP,
  parse: parseStormArgs,
  async measure(options, { workDir, machine }) {
    const adminToken = randomBytes(24).toString('hex');
    // A reconnecting device may arrive before the hub has closed its old connection: room for both.
    const hubFlags = ['--max-connections', String(2 * options.devices + 1000), ...options.hubArgs];
    const storms: ServerStorm[] = [];
    const profileDir = join(workDir, 'profile');
    log(`provisioning ${int(options.devices)} devices (${options.provisionConcurrency} requests in flight)`);
    const { devices, report: provisioning } = await provisionWithOwnHub({
      dataDir: join(workDir, 'data'),
      logFile: join(workDir, 'hub-provision.log'),
      adminToken,
      hubFlags,
      ids: fleetIds('storm-', options.devices),
      kind: 'storm-sensor',
      concurrency: options.provisionConcurrency,
    });
    log(`provisioned in ${(provisioning.ms / 1000).toFixed(1)} s (${int(provisioning.perSec)}/s, hub CPU ${pct(provisioning.hubCpuPercent)}, ${provisioning.hubCpuMsPerDevice.toFixed(2)} ms CPU per device)`);
    const credentials = devices.map((d) => ({ id: d.id, token: d.token }));

    const hub = async (): Promise<Server> => {
      const h = await startHubProcess({
        dataDir: join(workDir, 'data'),
        adminToken,
        logFile: join(workDir, 'hub.log'),
        extraArgs: hubFlags,
        nodeArgs: options.hubProfile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
      });
      return { name: 'hub', pid: h.pid, url: options.transport === 'mqtt' ? h.mqttUrl : deviceWsUrl(h.httpUrl), stop: () => h.stop(), logs: h.logs };
    };
    storms.push(await storm(hub, credentials, options));
    if (options.peer) storms.push(await storm(options.transport === 'mqtt' ? startBareAedes : startBareWs, credentials, options));

    const hubProfile = options.hubProfile ? readProfile(profileDir) : undefined;
    const result = { ...buildResult(options, machine, hubFlags, provisioning, storms), hubProfile };
    const problems = storms.some((s) => s.waves.some((w) => w.failed > 0)) ? ['some connects failed: see failed by reason'] : [];
    const text = `${formatResult(result)}${hubProfile ? `\n\n${formatProfile(hubProfile)}` : ''}`;
    return { result, rows: stormRows(result), text, problems };
  },
});

/** The hub's CPU profile, written when it exits on SIGTERM; it covers start, provisioning excluded, both waves and the hold. */
function readProfile(dir: string): ProfileSummary | undefined {
  const file = mainThreadProfile(dir);
  if (!file) {
    log(`no CPU profile in ${dir} (the hub must exit normally to write one)`);
    return undefined;
  }
  return summariseProfile(file);
}

async function storm(start: () => Promise<Server>, devices: { id: string; token: string }[], options: StormOptions): Promise<ServerStorm> {
  const server = await start();
  const sampler = new ProcSampler(server.pid);
  sampler.start(1000);
  const clients = new IdleClientProcess();
  try {
    log(`${server.name}: pid ${server.pid} at ${server.url}`);
    await sleep(1000); // let the fresh process finish starting up before the clock runs
    const waves: WaveFigures[] = [];
    for (const wave of ['connect', 'reconnect'] as const) {
      if (wave === 'reconnect') {
        await sleep(options.holdMs);
        const dropped = await clients.drop();
        log(`${server.name}: dropped ${int(dropped)} connections; reconnecting`);
      }
      const marks: ProcSample[] = [readProc(server.pid), readProc(clients.pid)];
      const sched0 = readSched(server.pid);
      const result = await clients.wave(
        {
          transport: options.transport,
          url: server.url,
          devices,
          concurrency: options.concurrency,
          handshake: options.handshake,
          timeoutMs: options.connectTimeoutMs,
          keepaliveSec: 600,
          helloAsBinary: server.name !== 'hub',
        },
        (p) => log(`${server.name} ${wave}: ${int(p.accepted)} accepted, ${int(p.failed)} failed`),
      );
      const figures = waveFigures(wave, result, marks[0] as ProcSample, readProc(server.pid), cpuPercent(marks[1] as ProcSample, readProc(clients.pid)), waitingPercent(sched0, readSched(server.pid)));
      log(`${server.name} ${wave}: ${int(figures.accepted)} accepted at ${int(figures.connectsPerSec ?? 0)}/s, ${int(figures.failed)} failed`);
      waves.push(figures);
    }
    const status = await clients.status();
    sampler.sample();
    return {
      server: server.name,
      handshake: options.handshake,
      waves,
      heldAtEnd: status.held,
      lost: status.lost,
      serverPeakRssBytes: sampler.peakRssBytes,
      ...(server.logs ? { serverLogs: server.logs } : {}),
    };
  } finally {
    sampler.stop();
    await clients.stop();
    await server.stop();
  }
}

function waveFigures(
  wave: 'connect' | 'reconnect',
  r: WaveResult,
  serverFrom: ProcSample,
  serverTo: ProcSample,
  clientCpuPercent: number,
  serverWaitingForCpuPercent: number | null,
): WaveFigures {
  const acceptWindowMs = r.lastAcceptedAt === null ? null : r.lastAcceptedAt - r.startedAt;
  const serverCpuMs = serverTo.cpuMs - serverFrom.cpuMs;
  return {
    wave,
    accepted: r.accepted,
    ready: r.ready,
    failed: r.failed,
    failedBy: r.failedBy,
    acceptWindowMs,
    connectsPerSec: acceptWindowMs ? (r.accepted * 1000) / acceptWindowMs : null,
    wallMs: r.endedAt - r.startedAt,
    connectLatencyMs: r.connectLatencyMs,
    readyLatencyMs: r.readyLatencyMs,
    serverCpuPercent: cpuPercent(serverFrom, serverTo),
    serverCpuMsPerConnect: r.accepted > 0 ? serverCpuMs / r.accepted : null,
    clientCpuPercent,
    serverWaitingForCpuPercent,
  };
}

function buildResult(options: StormOptions, machine: ReturnType<typeof machineInfo>, hubFlags: string[], provisioning: ProvisioningReport, storms: ServerStorm[]) {
  const hub = storms.find((s) => s.server === 'hub');
  return {
    machine,
    options,
    hubFlags: ['--ip-connect-rate', '0', ...hubFlags],
    provisioning,
    storms,
    targets: (hub?.waves ?? []).map((w) => ({ wave: w.wave, connectsPerSec: w.connectsPerSec, target: TARGET_PER_SEC, met: w.connectsPerSec !== null && w.connectsPerSec >= TARGET_PER_SEC && w.failed === 0 })),
  };
}

type StormResult = ReturnType<typeof buildResult>;

export function stormRows(r: StormResult): ScoreRow[] {
  return r.targets.map((t) => {
    const row = boundRow(`storm: ${t.wave} wave, connects/s`, t.connectsPerSec, int, { atLeast: TARGET_PER_SEC });
    return t.met || row.verdict !== 'met' ? row : { ...row, verdict: 'missed', target: `${row.target}, none failed` };
  });
}

function formatResult(r: StormResult): string {
  const o = r.options;
  const title =
    `storm: ${int(o.devices)} ${o.transport.toUpperCase()} devices, handshake ${o.handshake}, ${int(o.concurrency)} in flight ` +
    `(${r.machine.cores} cores, Node ${r.machine.node}, load ${r.machine.loadAvgAtStart[0]})`;
  const rows: [string, string][] = [
    ['provisioning (API)', formatProvisioning(r.provisioning)],
    ['hub flags', r.hubFlags.join(' ')],
  ];
  for (const s of r.storms) {
    for (const w of s.waves) {
      const name = `${s.server} ${w.wave}`;
      const target = s.server === 'hub' ? `  (target ≥ ${int(TARGET_PER_SEC)}/s: ${(w.connectsPerSec ?? 0) >= TARGET_PER_SEC && w.failed === 0 ? 'met' : 'MISSED'})` : '  (reference)';
      rows.push([`${name}: connects/s`, `${int(w.connectsPerSec ?? 0)}${target}`]);
      rows.push([`${name}: accepted / failed`, `${int(w.accepted)} / ${int(w.failed)}${w.failed ? ` ${JSON.stringify(w.failedBy)}` : ''}`]);
      rows.push([`${name}: connect p50 / p99`, `${ms(w.connectLatencyMs?.p50)} / ${ms(w.connectLatencyMs?.p99)}${o.handshake === 'device' ? `, ready p99 ${ms(w.readyLatencyMs?.p99)}` : ''}`]);
      rows.push([`${name}: CPU server / client`, `${pct(w.serverCpuPercent)} / ${pct(w.clientCpuPercent)} (100 % = one core); server ${w.serverCpuMsPerConnect?.toFixed(2) ?? '-'} ms CPU per connect`]);
      if (w.serverWaitingForCpuPercent !== null) rows.push([`${name}: server waiting for a CPU`, `${pct(w.serverWaitingForCpuPercent)} of the wave (the machine's other work)`]);
    }
    rows.push([`${s.server}: held at end / lost, peak RSS`, `${int(s.heldAtEnd)} / ${int(s.lost)}, ${mb(s.serverPeakRssBytes)}`]);
    if (s.serverLogs) rows.push([`${s.server}: warn / error log lines`, `${s.serverLogs.warn} / ${s.serverLogs.error}`]);
  }
  return `${title}\n${table(rows)}`;
}
