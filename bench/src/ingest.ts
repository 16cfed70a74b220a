/**
 * Ingest benchmark (issues 8 and 23): 1,000 MQTT devices at QoS 1 → stored
 * in InfluxDB, 10 dashboards subscribed, 0 loss; the hub's highest lossless
 * rate against Node-RED's behind tuned Mosquitto (target ≥ 1.5 ×) and
 * against Mosquitto's own QoS 1 relay rate (≥ 0.75 ×: a hub that stores
 * durably at three quarters of the speed of a C broker that stores
 * nothing), all measured in one run with the same load generator (device-sim
 * load mode in its own process) on one private influxd.
 *
 *   1. hub          a child process with --store influx (or sqlite), the
 *                   devices provisioned, N dashboard sockets watching all
 *                   telemetry; trials until its highest lossless rate is
 *                   known (lib/ingest-trial.ts: flat out, then a bisection
 *                   over paced rates if flat out lost messages)
 *   2. Node-RED     behind tuned Mosquitto: the same trials, counting the
 *                   points in Node-RED's database. (Behind stock Mosquitto
 *                   it is no longer measured: that peer swung two-fold
 *                   between runs.)
 *   3. Mosquitto    tuned, alone: the same devices flat out at QoS 1, one
 *                   QoS 1 subscriber on devices/+/telemetry; msgs/s it
 *                   receives over the window
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { HubApi, mapConcurrent, provisionDevices, writeCredentialsFile } from '@iot-hub/device-sim';
import { formatProfile, summariseProfile, mainThreadProfile, type ProfileSummary } from './lib/cpu-profile.js';
import { DashboardProbe } from './lib/dashboard-probe.js';
import { BenchUsageError, benchLog, durationFlag, parseFlags, sleep, wholeFlag } from './lib/flags.js';
import { startHubProcess } from './lib/hub-process.js';
import { startInfluxd, type BenchInfluxd } from './lib/influxd.js';
import { buildIngestResult, formatIngestResult, ingestRows, type MosquittoRelay, type PeerRun } from './lib/ingest-report.js';
import { defineBenchmark } from './lib/harness.js';
import { startLoadProcess } from './lib/load-process.js';
import { MqttSubscriber } from './lib/mqtt-subscriber.js';
import { runTrial, searchMaxLossless, type IngestSystem, type SearchResult, type TrialOptions } from './lib/ingest-trial.js';
import { startMosquitto } from './lib/peers/mosquitto.js';
import { NODE_RED_BATCH_MS, startNodeRed } from './lib/peers/node-red.js';
import { cpuPercent, ProcSampler, type ProcSample } from './lib/proc-stats.js';

export const INGEST_HELP = `npm run bench -- ingest [options]

  --store influx|sqlite  the hub's telemetry store (default influx: a private influxd)
  --peers LIST           node-red (behind tuned Mosquitto), mosquitto (its own QoS 1 relay rate),
                         both comma separated (default), or none
  --devices N            MQTT devices (default 1000)
  --dashboards N         dashboard sockets on the hub, each subscribed to all telemetry (default 10)
  --no-dashboard         same as --dashboards 0
  --duration D           publishing window of each trial: 10s, 1m (default 10s)
  --rate N               one trial per system at N msgs/s instead of the search
  --search-steps N       paced trials after a lossy flat-out trial (default 4)
  --settle-timeout D     longest wait for a store to catch up after a trial (default 60s)
  --hub-arg ARG          extra hub flag, repeatable (e.g. --hub-arg=--log-level --hub-arg=warn)
  --keep-data            keep the temp dir (hub data and log, influxd, load generator logs)
  --hub-profile          run the hub with --cpu-prof and print where its CPU went
                         (costs the hub some CPU: compare runs with the same setting)
`;

interface IngestOptions {
  store: 'influx' | 'sqlite';
  peers: { nodeRed: boolean; mosquitto: boolean };
  devices: number;
  dashboards: number;
  durationMs: number;
  rate: number | undefined;
  searchSteps: number;
  settleTimeoutMs: number;
  hubArgs: string[];
  keepData: boolean;
  hubProfile: boolean;
}

export function parseIngestArgs(argv: readonly string[]): IngestOptions | 'help' {
  const values = parseFlags(argv, {
    store: { type: 'string' },
    peers: { type: 'string' },
    devices: { type: 'string' },
    dashboards: { type: 'string' },
    'no-dashboard': { type: 'boolean' },
    duration: { type: 'string' },
    rate: { type: 'string' },
    'search-steps': { type: 'string' },
    'settle-timeout': { type: 'string' },
    'hub-arg': { type: 'string', multiple: true },
    'keep-data': { type: 'boolean' },
    'hub-profile': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  const store = values.store ?? 'influx';
  if (store !== 'influx' && store !== 'sqlite') throw new BenchUsageError(`--store must be influx or sqlite, got "${store}"`);
  const peerList = (values.peers ?? 'node-red,mosquitto').split(',').map((x) => x.trim());
  if (peerList.some((x) => !['node-red', 'mosquitto', 'none'].includes(x))) throw new BenchUsageError(`--peers takes node-red, mosquitto (comma separated) or none, got "${values.peers}"`);
  const peers = { nodeRed: peerList.includes('node-red'), mosquitto: peerList.includes('mosquitto') };
  if (values['no-dashboard'] && values.dashboards !== undefined) throw new BenchUsageError('--no-dashboard and --dashboards: give one');
  return {
    store,
    peers,
    devices: wholeFlag('devices', values.devices, 1000),
    dashboards: values['no-dashboard'] ? 0 : wholeFlag('dashboards', values.dashboards, 10, 0),
    durationMs: durationFlag('duration', values.duration, '10s'),
    rate: values.rate === undefined ? undefined : wholeFlag('rate', values.rate, 0),
    searchSteps: wholeFlag('search-steps', values['search-steps'], 4, 0),
    settleTimeoutMs: durationFlag('settle-timeout', values['settle-timeout'], '60s'),
    hubArgs: values['hub-arg'] ?? [],
    keepData: values['keep-data'] ?? false,
    hubProfile: values['hub-profile'] ?? false,
  };
}

const log = benchLog('ingest');
const HUB_DB = 'hub';
const ID_PREFIX = 'bench-';

/** Runs the benchmark; returns the process exit code (1 when the hub lost acknowledged messages). */
export const ingestBenchmark = defineBenchmark({
  name: 'ingest',
  description: 'highest lossless rate of 1,000 QoS 1 MQTT devices into InfluxDB with 10 dashboards, vs Node-RED behind tuned Mosquitto and Mosquitto\'s own QoS 1 relay rate',
  help: INGEST_HELP,
  parse: parseIngestArgs,
  async measure(options, { workDir, machine }) {
    log(`temp dir (hub data and log, influxd, load logs): ${workDir}`);
    const trialOptions: TrialOptions = { durationMs: options.durationMs, settleTimeoutMs: options.settleTimeoutMs, workDir, log };
    const ids = Array.from({ length: options.devices }, (_, i) => `${ID_PREFIX}${String(i + 1).padStart(String(options.devices).length, '0')}`);
    let influxd: BenchInfluxd | undefined;
    const profileDir = join(workDir, 'profile');
    try {
      if (options.store === 'influx' || options.peers.nodeRed) {
        influxd = await startInfluxd(join(workDir, 'influxd'));
        log(`influxd pid ${influxd.pid} at ${influxd.baseUrl}`);
      }
      const hub = await measureHub(options, ids, influxd, trialOptions, profileDir);
      const peers: PeerRun[] = options.peers.nodeRed ? [await measureNodeRed(options, ids, influxd as BenchInfluxd, trialOptions)] : [];
      const mosquittoRelay = options.peers.mosquitto ? await measureMosquittoRelay(options, ids, workDir) : null;
      // Stopped hub: its CPU profile (if any) is written.
      const profile = options.hubProfile ? readProfile(profileDir) : undefined;
      const result = {
        ...buildIngestResult({
          // qos and dashboards: the fields lib/ingest-rate.ts checks to pick a flat-out result.
          options: { ...options, rate: options.rate ?? null, qos: 1, inflight: 4 },
          hub,
          peers,
          mosquittoRelay,
        }),
        hubProfile: profile,
      };
      const problems = result.loss.ackedNotStored > 0 ? [`LOSS: ${result.loss.ackedNotStored} messages acknowledged by the hub are not in its store`] : [];
      const text = `${formatIngestResult(result, machine)}${profile ? `\n\n${formatProfile(profile)}` : ''}`;
      return { result, rows: ingestRows(result), text, problems };
    } finally {
      await influxd?.stop();
    }
  },
});

/** The hub with its store, provisioned devices and dashboard sockets, through the search. */
async function measureHub(options: IngestOptions, ids: readonly string[], influxd: BenchInfluxd | undefined, trialOptions: TrialOptions, profileDir: string) {
  const adminToken = randomBytes(24).toString('hex');
  // The same time bound as the Node-RED flow's batches (the hub's default is 1 s): the last
  // partial batch of a trial then waits as long in both, and stored msgs/s counts that wait.
  const storeArgs =
    options.store === 'influx' ? ['--store', 'influx', '--influx-url', `${(influxd as BenchInfluxd).baseUrl}/${HUB_DB}`, '--influx-flush-ms', String(NODE_RED_BATCH_MS)] : [];
  const hub = await startHubProcess({
    dataDir: join(trialOptions.workDir, 'hub-data'),
    adminToken,
    logFile: join(trialOptions.workDir, 'hub.log'),
    // Every probe uses the admin token, which is one user to the hub's per-user socket limit.
    extraArgs: [...storeArgs, '--dashboard-max-sockets-per-user', String(Math.max(options.dashboards, 1)), ...options.hubArgs],
    nodeArgs: options.hubProfile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
  });
  const startedAt = Date.now();
  const sampler = new ProcSampler(hub.pid);
  sampler.start(1000);
  // Only the first socket's latency is reported (every socket sees the same events): the others just count.
  const dashboards = Array.from({ length: options.dashboards }, (_, i) => new DashboardProbe(i === 0));
  try {
    log(`hub pid ${hub.pid} at ${hub.httpUrl} and ${hub.mqttUrl} (store ${options.store})`);
    const provisionStart = Date.now();
    const devices = await provisionDevices({ hubUrl: hub.httpUrl, adminToken, devices: ids.map((id) => ({ id, kind: 'load-sensor' })), concurrency: 100 });
    const credentialsFile = join(trialOptions.workDir, 'hub-devices.json');
    await writeCredentialsFile(credentialsFile, devices);
    log(`provisioned ${devices.length} devices in ${((Date.now() - provisionStart) / 1000).toFixed(1)} s`);
    for (const d of dashboards) await d.connect(hub.httpUrl, adminToken);
    if (dashboards.length > 0) log(`${dashboards.length} dashboard sockets subscribed to all telemetry`);

    const api = new HubApi(hub.httpUrl, adminToken);
    const system: IngestSystem = {
      name: `hub (${options.store})`,
      mqttUrl: hub.mqttUrl,
      hubUrl: hub.httpUrl,
      credentialsFile,
      devices: ids.length,
      idPrefix: ID_PREFIX,
      processes: [{ role: 'hub', pid: hub.pid }, ...(options.store === 'influx' && influxd ? [{ role: 'influxd', pid: influxd.pid }] : [])],
      countStored: options.store === 'influx' ? (range) => countHubInflux(influxd as BenchInfluxd, range) : (range) => countHubSqlite(api, ids, range ?? { from: startedAt - 60_000, to: Date.now() + 60_000 }),
      mustStore: 'acked',
      dashboards,
    };
    const search = await searchMaxLossless((rate) => runTrial(system, rate, trialOptions), { fixedRate: options.rate, steps: options.searchSteps });
    logBest(system.name, search);
    sampler.stop();
    return {
      store: options.store,
      search,
      peakRssBytes: sampler.peakRssBytes,
      logs: hub.logs,
      timeline: sampler.samples.map((s, i, all) => ({ at: s.at, cpuPercent: i === 0 ? null : cpuPercent(all[i - 1] as ProcSample, s), rssBytes: s.rssBytes })),
    };
  } finally {
    for (const d of dashboards) d.close();
    sampler.stop();
    const ended = await hub.stop();
    if (ended.killed) log('the hub did not stop within 15 s of SIGTERM: killed');
  }
}

/** Node-RED behind tuned Mosquitto, writing into its own database of the shared influxd, through the search. */
async function measureNodeRed(options: IngestOptions, ids: readonly string[], influxd: BenchInfluxd, trialOptions: TrialOptions): Promise<PeerRun> {
  const name = 'node-red + mosquitto (tuned)';
  const database = 'nodered_tuned';
  await influxd.query(`CREATE DATABASE "${database}"`);
  const mosquitto = await startMosquitto({ tuned: true });
  try {
    log(`${mosquitto.name} pid ${mosquitto.pid} at ${mosquitto.url}`);
    const nodeRed = await startNodeRed({ mqttUrl: mosquitto.url, influxUrl: influxd.baseUrl, database, name, log });
    try {
      log(`Node-RED ${nodeRed.version} pid ${nodeRed.pid} ready`);
      await checkPipeline(mosquitto.url, influxd, database);
      // A broker takes any credentials here (anonymous allowed): the token only fills the CONNECT.
      const credentialsFile = join(trialOptions.workDir, `peer-devices.json`);
      await writeCredentialsFile(credentialsFile, ids.map((id) => ({ id, token: 'peer', kind: 'load-sensor' })));
      const system: IngestSystem = {
        name,
        mqttUrl: mosquitto.url,
        hubUrl: 'http://127.0.0.1:9',
        credentialsFile,
        devices: ids.length,
        idPrefix: ID_PREFIX,
        processes: [
          { role: 'mosquitto', pid: mosquitto.pid },
          { role: 'node-red', pid: nodeRed.pid },
          { role: 'influxd', pid: influxd.pid },
        ],
        countStored: (range) => countPoints(influxd, database, `SELECT count("seq") FROM "telemetry" WHERE "device" =~ /^${ID_PREFIX}/${timeRange(range)}`),
        mustStore: 'sent',
      };
      const search = await searchMaxLossless((rate) => runTrial(system, rate, trialOptions), { fixedRate: options.rate, steps: options.searchSteps });
      logBest(name, search);
      return { name, nodeRedVersion: nodeRed.version, mosquittoConfig: mosquitto.config, search, logs: nodeRed.logs };
    } finally {
      await nodeRed.stop();
    }
  } finally {
    await mosquitto.stop();
  }
}

function logBest(name: string, search: SearchResult): void {
  log(`${name}: highest lossless rate ${search.best ? `${Math.round(search.maxLosslessPerSec)} stored msgs/s` : 'none (every trial lost messages)'}`);
}

/** One message through broker → Node-RED → InfluxDB before measuring, so a broken flow fails fast (its device is not a load device). */
async function checkPipeline(mqttUrl: string, influxd: BenchInfluxd, database: string): Promise<void> {
  const client = await mqtt.connectAsync(mqttUrl, { clientId: 'bench-pipeline-check', reconnectPeriod: 0 });
  try {
    await client.publishAsync('devices/pipeline-check/telemetry', JSON.stringify({ metrics: { temperature: 20, humidity: 40, t: Date.now() }, seq: 0 }), { qos: 1 });
    const deadline = Date.now() + 10_000;
    while ((await countPoints(influxd, database, `SELECT count("seq") FROM "telemetry" WHERE "device" = 'pipeline-check'`)) < 1) {
      if (Date.now() > deadline) throw new Error(`a message published to ${mqttUrl} did not reach InfluxDB database ${database} within 10 s: the Node-RED flow does not work`);
      await sleep(100);
    }
  } finally {
    await client.endAsync();
  }
}

async function countPoints(influxd: BenchInfluxd, database: string, query: string): Promise<number> {
  const res = await influxd.query(query, database);
  const row = res.results[0]?.series?.[0]?.values?.[0];
  return row ? Number(row[1]) : 0;
}

/** An InfluxQL time condition for a range in epoch ms (none without a range). */
function timeRange(range: { from: number; to: number } | undefined): string {
  return range ? ` AND time >= ${Math.floor(range.from)}ms AND time <= ${Math.ceil(range.to)}ms` : '';
}

/** The hub writes 3 points per load message (temperature, humidity, t): its temperature points count the messages. */
function countHubInflux(influxd: BenchInfluxd, range: { from: number; to: number } | undefined): Promise<number> {
  return countPoints(influxd, HUB_DB, `SELECT count("value") FROM "raw"."telemetry" WHERE "device" =~ /^${ID_PREFIX}/ AND "metric" = 'temperature'${timeRange(range)}`);
}

/** The SQLite store has no count endpoint: the sum of every device's history bucket counts. */
async function countHubSqlite(api: HubApi, ids: readonly string[], range: { from: number; to: number }): Promise<number> {
  const counts = await mapConcurrent(ids, 32, async (id) => {
    const history = await api.history(id, { metric: 'temperature', from: Math.floor(range.from), to: Math.ceil(range.to), maxPoints: 1 });
    return history.series.reduce((n, s) => n + s.points.reduce((m, p) => m + p.count, 0), 0);
  });
  return counts.reduce((a, b) => a + b, 0);
}

function readProfile(dir: string): ProfileSummary | undefined {
  const file = mainThreadProfile(dir);
  if (!file) log(`no CPU profile was written in ${dir} (the hub must exit normally to write one)`);
  return file ? summariseProfile(file) : undefined;
}

/**
 * Mosquitto's own QoS 1 relay rate (issue 23): tuned Mosquitto alone, the
 * same devices and load generator flat out at QoS 1, and one QoS 1
 * subscriber on every device's telemetry; msgs/s the subscriber receives
 * over a window of the trials' length, after a 2 s warm-up.
 */
async function measureMosquittoRelay(options: IngestOptions, ids: readonly string[], workDir: string): Promise<MosquittoRelay> {
  const mosquitto = await startMosquitto({ tuned: true });
  let sub: MqttSubscriber | undefined;
  const credentialsFile = join(workDir, 'relay-devices.json');
  await writeCredentialsFile(credentialsFile, ids.map((id) => ({ id, token: 'peer', kind: 'load-sensor' })));
  const load = startLoadProcess({ mqttUrl: mosquitto.url, credentialsFile, devices: ids.length, idPrefix: ID_PREFIX, qos: 1, inflight: 4, maxDurationMs: options.durationMs + 60_000, logFile: join(workDir, 'load-mosquitto-relay.log') });
  try {
    sub = await MqttSubscriber.connect({ url: mosquitto.url, topic: 'devices/+/telemetry', qos: 1 });
    await load.publishing;
    await sleep(2000);
    const server = new ProcSampler(mosquitto.pid);
    const from = { at: Date.now(), received: sub.received, server: server.sample() };
    await sleep(options.durationMs);
    const to = { at: Date.now(), received: sub.received, server: server.sample() };
    const relayedPerSec = ((to.received - from.received) * 1000) / (to.at - from.at);
    log(`${mosquitto.name} alone, QoS 1 flat out: ${Math.round(relayedPerSec)} msgs/s relayed to one QoS 1 subscriber`);
    return { name: mosquitto.name, relayedPerSec, windowMs: to.at - from.at, serverCpuPercent: from.server && to.server ? cpuPercent(from.server, to.server) : null };
  } finally {
    await load.stop(5000);
    sub?.close();
    await mosquitto.stop();
  }
}
