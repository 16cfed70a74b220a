/**
 * conns benchmark (issue 8): how much memory an idle device connection
 * costs the hub, MQTT and WebSocket, against bare aedes and a bare `ws`
 * server holding the same number of connections from the same client.
 *
 * Per server and transport: a fresh server process, a full GC through its
 * inspector (force-gc.ts) and its RSS settled (median of a window, see
 * settled-rss.ts), N connections opened from a separate client process
 * (idle-clients.ts) and held, GC and RSS again; per connection = (after −
 * before) ÷ connections held. Without the GC a fresh process's start-up
 * garbage, collected while the clients connect, hides part of their cost.
 * One transport at a time: the hub and the client each have a 20,000 fd
 * limit here.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { deviceWsUrl } from '@iot-hub/device-sim';
import { BenchUsageError, benchLog, durationFlag, parseFlags, wholeFlag } from './lib/flags.js';
import { int, mb, pct, table } from './lib/format.js';
import { forceGc, InspectorSession, withInspector } from './lib/force-gc.js';
import { startHeapSampling, stopHeapSampling, type HeapSites } from './lib/heap-sampling.js';
import { startHubProcess, type HubProcess } from './lib/hub-process.js';
import { IdleClientProcess, type WaveResult } from './lib/idle-client-process.js';
import type { Handshake } from './lib/idle-mqtt.js';
import type { machineInfo } from './lib/machine.js';
import { startBareAedes } from './lib/peers/bare-aedes.js';
import { startBareWs } from './lib/peers/bare-ws.js';
import { cpuPercent, readProc, type ProcSample } from './lib/proc-stats.js';
import { settledRss, type SettledRss } from './lib/settled-rss.js';
import { fleetIds, formatProvisioning, provisionWithOwnHub, type ProvisioningReport } from './lib/timed-provisioning.js';
import { defineBenchmark } from './lib/harness.js';
import { ratioRow, type ScoreRow } from './lib/scoreboard.js';
import { fetchHubMetrics, metricSample } from './lib/hub-metrics.js';

export const CONNS_DESCRIPTION = 'idle MQTT and WS devices held: memory per connection vs bare aedes and bare ws';

/** Target (issue 8): the hub's memory per connection at most this × the bare peer's. */
const TARGET_RATIO = 1.2;

export const CONNS_HELP = `npm run bench -- conns [options]

  --devices N               idle devices per transport (default 10000)
  --transports LIST         mqtt,ws (default both), one at a time
  --handshake device|connect
                            device: CONNECT with will, SUBSCRIBE devices/{id}/#, hello
                            (QoS 1) on MQTT; upgrade and a hello frame on WS (default).
                            connect: CONNECT / upgrade only. The bare ws peer gets the
                            hello as a binary frame, which it reads and ignores (it
                            broadcasts text frames to every client)
  --concurrency N           handshakes in progress at once (default 200)
  --warmup N                after the first RSS reading, connect N devices and read again:
                            the marginal figure leaves one-time costs out (default 100, 0 = none)
  --settle D                wait before each RSS window (default 5s)
  --window D                RSS sampled every 250 ms over this, median kept (default 3s)
  --no-gc                   no full GC (through the inspector) before each RSS window
  --hub-heap-profile        sample the hub's allocations over the connect (V8 sampling heap
                            profiler) and print the sites of what is still alive once all are
                            held; the profiler's own memory then counts in the hub's RSS
  --connect-timeout D       a handshake not done by then fails (default 30s)
  --provision-concurrency N POST /api/devices in flight (default 100)
  --hub-arg ARG             extra hub flag, repeatable
  --no-peers                hub only
  --keep-data               keep the hub's temp data dir and logs
`;

type Transport = 'mqtt' | 'ws';

interface ConnsOptions {
  devices: number;
  transports: Transport[];
  handshake: Handshake;
  concurrency: number;
  warmup: number;
  settleMs: number;
  windowMs: number;
  connectTimeoutMs: number;
  provisionConcurrency: number;
  hubArgs: string[];
  peers: boolean;
  keepData: boolean;
  gc: boolean;
  hubHeapProfile: boolean;
}

function parseConnsArgs(argv: readonly string[]): ConnsOptions | 'help' {
  const v = parseFlags(argv, {
    devices: { type: 'string' },
    transports: { type: 'string' },
    handshake: { type: 'string' },
    concurrency: { type: 'string' },
    warmup: { type: 'string' },
    settle: { type: 'string' },
    window: { type: 'string' },
    'connect-timeout': { type: 'string' },
    'provision-concurrency': { type: 'string' },
    'hub-arg': { type: 'string', multiple: true },
    'no-peers': { type: 'boolean' },
    'no-gc': { type: 'boolean' },
    'hub-heap-profile': { type: 'boolean' },
    'keep-data': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) return 'help';
  if (v['hub-heap-profile'] && v['no-gc']) throw new BenchUsageError('--hub-heap-profile needs the inspector: drop --no-gc');
  const transports = (v.transports ?? 'mqtt,ws').split(',').map((t) => t.trim());
  for (const t of transports) if (t !== 'mqtt' && t !== 'ws') throw new BenchUsageError(`--transports takes mqtt and/or ws, got "${t}"`);
  if (v.handshake !== undefined && v.handshake !== 'device' && v.handshake !== 'connect') throw new BenchUsageError(`--handshake must be device or connect, got "${v.handshake}"`);
  const devices = wholeFlag('devices', v.devices, 10_000);
  // The hub and the client process each hold every connection of one transport at once.
  if (devices > 18_000) throw new BenchUsageError(`--devices ${devices} is above what one process's fd limit (20,000 here) holds with room to spare`);
  return {
    devices,
    transports: [...new Set(transports)] as Transport[],
    handshake: (v.handshake ?? 'device') as Handshake,
    concurrency: wholeFlag('concurrency', v.concurrency, 200),
    warmup: Math.min(wholeFlag('warmup', v.warmup, 100, 0), Math.floor(devices / 2)),
    settleMs: durationFlag('settle', v.settle, '5s'),
    windowMs: durationFlag('window', v.window, '3s'),
    connectTimeoutMs: durationFlag('connect-timeout', v['connect-timeout'], '30s'),
    provisionConcurrency: wholeFlag('provision-concurrency', v['provision-concurrency'], 100),
    hubArgs: v['hub-arg'] ?? [],
    peers: !(v['no-peers'] ?? false),
    keepData: v['keep-data'] ?? false,
    gc: !(v['no-gc'] ?? false),
    hubHeapProfile: v['hub-heap-profile'] ?? false,
  };
}

const log = benchLog('conns');

/** A server under measurement: the hub or a peer, already listening. */
interface Server {
  name: string;
  pid: number;
  url: string;
  stop(): Promise<unknown>;
  /** The server's inspector, for a forced GC before each RSS window. */
  inspectPort?: number;
  /** The hub only: its own view from /metrics. */
  metrics?: () => Promise<HubMemoryMetrics | undefined>;
}

interface HubMemoryMetrics {
  connections: number | undefined;
  heapUsedBytes: number | undefined;
  externalBytes: number | undefined;
}

interface ServerRun {
  server: string;
  transport: Transport;
  handshake: Handshake;
  devices: number;
  /** Connections the client still held after the second RSS window. */
  held: number;
  /** Connections the server closed while held. */
  lost: number;
  rssBefore: SettledRss;
  rssAfter: SettledRss;
  /** Whether a full GC ran before each RSS window. */
  gcForced: { before: boolean; after: boolean };
  /** (after − before) ÷ held, from the medians. */
  bytesPerConnection: number | null;
  /** After the warm-up devices were held (--warmup), and (after − that) ÷ the devices connected since. */
  warm: { devices: number; rss: SettledRss; marginalBytesPerConnection: number | null } | null;
  wave: Omit<WaveResult, 'op'>;
  serverCpuPercentConnecting: number;
  client: { cpuPercentOfOneCore: number; rssBytes: number };
  hubMetricsBefore?: HubMemoryMetrics;
  hubMetricsAfter?: HubMemoryMetrics;
  /** --hub-heap-profile: live allocations by site once all are held. */
  heapSites?: HeapSites;
}

export const connsBenchmark = defineBenchmark({
  name: 'conns',
  description: CONNS_DESCRIPTION,
  help: CONNS_HELP,
  parse: parseConnsArgs,
  async measure(options, { workDir, machine }) {
    const adminToken = randomBytes(24).toString('hex');
    // One transport at a time, yet room for a connection being replaced; the bench says so in its output.
    const hubFlags = ['--max-connections', String(options.devices + 1000), ...options.hubArgs];
    const runs: ServerRun[] = [];
    // Provisioned once, by a hub of its own: each measured hub is a fresh process on that data dir.
    log(`provisioning ${int(options.devices)} devices (${options.provisionConcurrency} requests in flight)`);
    const provisioned = await provisionWithOwnHub({
      dataDir: join(workDir, 'data'),
      logFile: join(workDir, 'hub-provision.log'),
      adminToken,
      hubFlags,
      ids: fleetIds('idle-', options.devices),
      kind: 'idle-sensor',
      concurrency: options.provisionConcurrency,
    });
    const { devices, report: provisioning } = provisioned;
    log(`provisioned in ${(provisioning.ms / 1000).toFixed(1)} s (${int(provisioning.perSec)}/s, hub CPU ${pct(provisioning.hubCpuPercent)}, ${provisioning.hubCpuMsPerDevice.toFixed(2)} ms CPU per device)`);
    const credentials = devices.map((d) => ({ id: d.id, token: d.token }));

    for (const transport of options.transports) {
      const startHub = (): Promise<HubProcess> => startHubProcess({ dataDir: join(workDir, 'data'), adminToken, logFile: join(workDir, `hub-${transport}.log`), extraArgs: hubFlags });
      const hub = async (): Promise<Server> => {
        const { started: h, inspectPort } = options.gc ? await withInspector(startHub) : { started: await startHub(), inspectPort: undefined };
        return {
          name: 'hub',
          pid: h.pid,
          url: transport === 'mqtt' ? h.mqttUrl : deviceWsUrl(h.httpUrl),
          stop: () => h.stop(),
          ...(inspectPort === undefined ? {} : { inspectPort }),
          metrics: () => hubMemory(h.httpUrl, adminToken, transport),
        };
      };
      runs.push(await measure(hub, transport, options.handshake, credentials, options));
      if (options.peers) {
        const startPeer = transport === 'mqtt' ? startBareAedes : startBareWs;
        const peer = async (): Promise<Server> => {
          if (!options.gc) return startPeer();
          const { started, inspectPort } = await withInspector(startPeer);
          return { name: started.name, pid: started.pid, url: started.url, stop: () => started.stop(), inspectPort };
        };
        runs.push(await measure(peer, transport, options.handshake, credentials, options));
      }
    }

    const result = buildResult(options, machine, hubFlags, provisioning, runs);
    const problems = runs.some((r) => r.held !== r.devices) ? ['not every device was held to the end: the per-connection figures are not comparable'] : [];
    return { result, rows: connsRows(result), text: formatResult(result), problems };
  },
});

async function measure(
  start: () => Promise<Server>,
  transport: Transport,
  handshake: Handshake,
  devices: { id: string; token: string }[],
  options: ConnsOptions,
): Promise<ServerRun> {
  const server = await start();
  let clients: IdleClientProcess | undefined;
  let profiler: InspectorSession | undefined;
  try {
    const what = `${server.name} ${transport}`;
    log(`${what}: pid ${server.pid} at ${server.url}; RSS settling`);
    const gcBefore = server.inspectPort !== undefined && (await forceGc(server.inspectPort));
    const rssBefore = await settledRss(server.pid, options.settleMs, options.windowMs);
    const hubMetricsBefore = await server.metrics?.();
    if (options.hubHeapProfile && server.name === 'hub' && server.inspectPort !== undefined) {
      profiler = await InspectorSession.open(server.inspectPort);
      await startHeapSampling(profiler);
    }
    const held = new IdleClientProcess();
    clients = held;
    const waveOf = (list: { id: string; token: string }[]): Promise<WaveResult> =>
      held.wave(
        {
          transport,
          url: server.url,
          devices: list,
          concurrency: options.concurrency,
          handshake,
          timeoutMs: options.connectTimeoutMs,
          keepaliveSec: 600,
          // The bare ws peer broadcasts every text frame to every other client (10⁸ sends for 10⁴ hellos); it drops binary ones.
          helloAsBinary: server.name !== 'hub',
        },
        (p) => log(`${what}: ${int(p.ready)} held, ${int(p.failed)} failed`),
      );
    // One-time costs (code compiled on first use, mqtt-packet's packet-id buffer cache) land with the first connections.
    let warm: { devices: number; rss: SettledRss } | undefined;
    if (options.warmup > 0) {
      await waveOf(devices.slice(0, options.warmup));
      if (server.inspectPort !== undefined) await forceGc(server.inspectPort);
      warm = { devices: (await clients.status()).held, rss: await settledRss(server.pid, options.settleMs, options.windowMs) };
      log(`${what}: ${int(warm.devices)} warm-up devices held; the rest connecting`);
    }
    const marks: ProcSample[] = [readProc(server.pid), readProc(clients.pid)];
    const wave = await waveOf(devices.slice(options.warmup));
    const serverCpu = cpuPercent(marks[0] as ProcSample, readProc(server.pid));
    const clientCpu = cpuPercent(marks[1] as ProcSample, readProc(clients.pid));
    log(`${what}: ${int(wave.ready)} held in ${((wave.endedAt - wave.startedAt) / 1000).toFixed(1)} s, ${int(wave.failed)} failed; RSS settling`);
    const gcAfter = server.inspectPort !== undefined && (await forceGc(server.inspectPort));
    const heapSites = profiler ? await stopHeapSampling(profiler) : undefined;
    const rssAfter = await settledRss(server.pid, options.settleMs, options.windowMs);
    const hubMetricsAfter = await server.metrics?.();
    const status = await clients.status();
    const { op: _op, ...waveFigures } = wave;
    return {
      server: server.name,
      transport,
      handshake,
      devices: devices.length,
      held: status.held,
      lost: status.lost,
      rssBefore,
      rssAfter,
      gcForced: { before: gcBefore, after: gcAfter },
      bytesPerConnection: status.held > 0 ? (rssAfter.medianBytes - rssBefore.medianBytes) / status.held : null,
      warm: warm
        ? { ...warm, marginalBytesPerConnection: status.held > warm.devices ? (rssAfter.medianBytes - warm.rss.medianBytes) / (status.held - warm.devices) : null }
        : null,
      wave: waveFigures,
      serverCpuPercentConnecting: serverCpu,
      client: { cpuPercentOfOneCore: clientCpu, rssBytes: readProc(clients.pid).rssBytes },
      ...(hubMetricsBefore ? { hubMetricsBefore } : {}),
      ...(hubMetricsAfter ? { hubMetricsAfter } : {}),
      ...(heapSites ? { heapSites } : {}),
    };
  } finally {
    profiler?.close();
    await clients?.stop();
    await server.stop();
  }
}

/** The hub's connection count and V8 heap from its /metrics (prom-client default metrics). */
async function hubMemory(httpUrl: string, adminToken: string, transport: Transport): Promise<HubMemoryMetrics | undefined> {
  const text = await fetchHubMetrics(httpUrl, adminToken);
  if (text === undefined) return undefined;
  return {
    connections: metricSample(text, 'iot_hub_connections', `kind="${transport}"`),
    heapUsedBytes: metricSample(text, 'iot_hub_nodejs_heap_size_used_bytes'),
    externalBytes: metricSample(text, 'iot_hub_nodejs_external_memory_bytes'),
  };
}

function buildResult(options: ConnsOptions, machine: ReturnType<typeof machineInfo>, hubFlags: string[], provisioning: ProvisioningReport | undefined, runs: ServerRun[]) {
  const comparisons = options.transports.map((transport) => {
    const hub = runs.find((r) => r.server === 'hub' && r.transport === transport);
    const peer = runs.find((r) => r.server !== 'hub' && r.transport === transport);
    const hubBytes = hub?.bytesPerConnection ?? null;
    const peerBytes = peer?.bytesPerConnection ?? null;
    // A server whose RSS did not grow (too few connections for the noise of its heap) gives no ratio.
    const ratio = hubBytes !== null && peerBytes !== null && hubBytes > 0 && peerBytes > 0 ? hubBytes / peerBytes : null;
    const hubMarginal = hub?.warm?.marginalBytesPerConnection ?? null;
    const peerMarginal = peer?.warm?.marginalBytesPerConnection ?? null;
    const marginalRatio = hubMarginal !== null && peerMarginal !== null && hubMarginal > 0 && peerMarginal > 0 ? hubMarginal / peerMarginal : null;
    return {
      transport,
      peer: peer?.server ?? null,
      hubBytesPerConnection: hubBytes,
      peerBytesPerConnection: peerBytes,
      ratio,
      target: TARGET_RATIO,
      met: ratio === null ? null : ratio <= TARGET_RATIO,
      marginalRatio,
    };
  });
  return {
    machine,
    options,
    hubFlags: ['--ip-connect-rate', '0', ...hubFlags],
    method:
      `fresh server process per transport; ${options.gc ? 'a full GC through the inspector (HeapProfiler.collectGarbage, twice), then ' : ''}` +
      'RSS = median of VmRSS sampled every 250 ms over the window after the settle wait, ' +
      'before the clients connect and again once all are held; per connection = (after − before) ÷ held. Clients run in a separate process.',
    provisioning,
    runs,
    comparisons,
  };
}

export function connsRows(r: ConnsResult): ScoreRow[] {
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
  return r.comparisons.map((c) => ratioRow(`conns: memory per idle ${c.transport === 'mqtt' ? 'MQTT' : 'WebSocket'} connection`, c.hubBytesPerConnection, c.peerBytesPerConnection, c.peer ?? 'peer', kb, { atMost: TARGET_RATIO }));
}

type ConnsResult = ReturnType<typeof buildResult>;

const kb = (bytes: number | null | undefined): string => (bytes == null ? '-' : `${(bytes / 1024).toFixed(1)} KB`);

function formatResult(r: ConnsResult): string {
  const title = `conns: ${int(r.options.devices)} idle devices per transport, handshake ${r.options.handshake} (${r.machine.cores} cores, Node ${r.machine.node}, load ${r.machine.loadAvgAtStart[0]})`;
  const rows: [string, string][] = [];
  if (r.provisioning) {
    const p = r.provisioning;
    rows.push(['provisioning (API)', formatProvisioning(p)]);
  }
  rows.push(['hub flags', r.hubFlags.join(' ')]);
  for (const run of r.runs) {
    const name = `${run.server} ${run.transport}`;
    rows.push([`${name}: held / failed / lost`, `${int(run.held)} / ${int(run.wave.failed)}${run.wave.failed ? ` ${JSON.stringify(run.wave.failedBy)}` : ''} / ${int(run.lost)}`]);
    const gc = run.gcForced.before && run.gcForced.after ? ', after a full GC' : r.options.gc ? ', GC NOT forced (inspector unreachable)' : '';
    rows.push([`${name}: RSS before → after`, `${mb(run.rssBefore.medianBytes)} → ${mb(run.rssAfter.medianBytes)} (window ${mb(run.rssAfter.minBytes)}-${mb(run.rssAfter.maxBytes)}${gc})`]);
    rows.push([`${name}: per connection`, kb(run.bytesPerConnection)]);
    if (run.warm) rows.push([`${name}: marginal, after ${int(run.warm.devices)} warm-up`, `${kb(run.warm.marginalBytesPerConnection)} (RSS ${mb(run.warm.rss.medianBytes)} with the warm-up held)`]);
    if (run.hubMetricsBefore && run.hubMetricsAfter) {
      const heap = (run.hubMetricsAfter.heapUsedBytes ?? 0) - (run.hubMetricsBefore.heapUsedBytes ?? 0);
      rows.push([`${name}: JS heap used per connection`, `${kb(run.held ? heap / run.held : null)} (hub counts ${int(run.hubMetricsAfter.connections ?? 0)} connections)`]);
    }
    rows.push([`${name}: CPU server / client`, `${pct(run.serverCpuPercentConnecting)} / ${pct(run.client.cpuPercentOfOneCore)} while connecting (100 % = one core)`]);
  }
  for (const c of r.comparisons) {
    if (c.peer === null) continue;
    if (c.ratio === null) rows.push([`${c.transport}: hub ÷ ${c.peer}`, 'not comparable: an RSS did not grow (too few devices to rise above the heap noise)']);
    else rows.push([`${c.transport}: hub ÷ ${c.peer}`, `${c.ratio.toFixed(2)} × (target ≤ ${c.target}: ${c.met ? 'met' : 'MISSED'})`]);
    if (c.marginalRatio !== null) rows.push([`${c.transport}: hub ÷ ${c.peer}, marginal`, `${c.marginalRatio.toFixed(2)} × (one-time costs left out)`]);
  }
  const sites = r.runs
    .filter((run) => run.heapSites)
    .map((run) => {
      const h = run.heapSites as HeapSites;
      const lines = h.top.map((t) => `  ${(t.share * 100).toFixed(1).padStart(5)} %  ${kb(t.bytes / run.held).padStart(9)}/conn  ${t.site}  ← ${t.caller}`);
      return `hub ${run.transport}: live memory by allocation site once ${int(run.held)} are held (sampled ${mb(h.totalBytes)}, ${kb(h.totalBytes / run.held)} per connection):\n${lines.join('\n')}`;
    });
  return [`${title}\n${table(rows)}`, ...sites].join('\n\n');
}
