/**
 * Node-RED as the full-pipeline peer (issue 8): `mqtt in` (QoS 1,
 * `devices/+/telemetry`, behind a given broker) → `function` (batches of
 * 1,000 points, or whatever gathered every 200 ms) → `influxdb batch` (from
 * node-red-contrib-influxdb) into a given influxd database. One point per
 * message: measurement `telemetry`, tag `device`, fields temperature,
 * humidity, t and seq.
 *
 * Node-RED and the contrib node are heavy and only the bench needs them, so
 * they stay out of the workspace: installed on first use into
 * bench/.peers/node-red/ (ignored by git) and reused afterwards. Node-RED 5
 * needs Node ≥ 22.9 (its red.js refuses older versions), so on an older Node
 * the newest 4.x is installed instead; the report names the version.
 *
 * Each start gets a temp user dir with a generated settings.js (no editor,
 * no admin API, no HTTP nodes, info logging without metrics or audit) and
 * flows.json; the process is `node red.js --userDir DIR --port FREE`, ready
 * once it logs that its flows started and the MQTT node connected.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../free-port.js';
import type { PeerProcess } from './peer.js';

/** bench/dist/lib/peers/node-red.js → bench/.peers/node-red/ */
export const NODE_RED_PREFIX = fileURLToPath(new URL('../../../.peers/node-red/', import.meta.url));
const CONTRIB_INFLUXDB = 'node-red-contrib-influxdb@0.7';
/** The flow's batch bounds (issue 8): 1,000 points, or whatever gathered in 200 ms. */
export const NODE_RED_BATCH_POINTS = 1000;
export const NODE_RED_BATCH_MS = 200;

export interface NodeRedOptions {
  /** mqtt://127.0.0.1:PORT of the broker the `mqtt in` node subscribes through. */
  mqttUrl: string;
  /** http://127.0.0.1:PORT of influxd (1.x API). */
  influxUrl: string;
  /** Database the points go to (must exist). */
  database: string;
  /** Points per write (default 1,000). */
  batchPoints?: number;
  /** Flush interval for a partial batch, ms (default 200). */
  batchMs?: number;
  /** Name for tables, e.g. "node-red (mosquitto stock)". */
  name?: string;
  /** Install progress and other notes. */
  log?: (message: string) => void;
  startTimeoutMs?: number;
}

export interface NodeRedPeer extends PeerProcess {
  /** The Node-RED version that ran. */
  version: string;
  /** Node-RED's own warn / error log lines since it was ready (a failed InfluxDB write is an error line). */
  readonly logs: { warn: number; error: number; samples: string[] };
}

/** The Node-RED major this Node can run: 5 needs Node ≥ 22.9. */
export function nodeRedMajor(nodeVersion = process.versions.node): 4 | 5 {
  const [major = 0, minor = 0] = nodeVersion.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 9) ? 5 : 4;
}

/** Installs Node-RED and the InfluxDB nodes into bench/.peers/node-red/ unless a fitting install is there; returns red.js and the version. */
export async function ensureNodeRed(log: (message: string) => void = () => {}): Promise<{ redJs: string; version: string }> {
  const major = nodeRedMajor();
  const redJs = join(NODE_RED_PREFIX, 'node_modules', 'node-red', 'red.js');
  const installed = (): string | undefined => {
    try {
      const version = (JSON.parse(readFileSync(join(NODE_RED_PREFIX, 'node_modules', 'node-red', 'package.json'), 'utf8')) as { version: string }).version;
      const contrib = existsSync(join(NODE_RED_PREFIX, 'node_modules', 'node-red-contrib-influxdb', 'influxdb.js'));
      return contrib && existsSync(redJs) && version.startsWith(`${major}.`) ? version : undefined;
    } catch {
      return undefined;
    }
  };
  const found = installed();
  if (found) return { redJs, version: found };

  if (major === 4) log(`Node-RED 5 needs Node ≥ 22.9 and this is Node ${process.versions.node}: installing Node-RED 4`);
  const args = ['install', '--prefix', NODE_RED_PREFIX, '--no-audit', '--no-fund', `node-red@${major}`, CONTRIB_INFLUXDB];
  log(`installing Node-RED for the bench (first use, 1-2 minutes): npm ${args.join(' ')}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // npm's own output goes to our stderr: it is the progress.
  const child = spawn(npm, args, { stdio: ['ignore', process.stderr, process.stderr] });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  const version = installed();
  if (code !== 0 || !version) throw new Error(`installing Node-RED into ${NODE_RED_PREFIX} failed (npm exit code ${code}): run the npm command above by hand to see why`);
  log(`installed Node-RED ${version} in ${NODE_RED_PREFIX}`);
  return { redJs, version };
}

/**
 * The function node's code. Points gather in the node's context; a full
 * batch leaves at once, a partial one on the 200 ms timer. The timestamp is
 * the send time in µs plus seq mod 1,000: unique per device (a device has
 * only a few messages in flight within one ms), so no point overwrites
 * another (InfluxDB keeps one point per series and timestamp).
 */
function batchFunction(batchPoints: number): string {
  return [
    "const device = msg.topic.split('/')[1];",
    'const body = msg.payload;',
    'const m = body.metrics;',
    "const batch = context.get('batch');",
    'batch.push({',
    "  measurement: 'telemetry',",
    '  tags: { device },',
    '  fields: { temperature: m.temperature, humidity: m.humidity, t: m.t, seq: body.seq },',
    '  timestamp: m.t * 1000 + (body.seq % 1000),',
    '});',
    `if (batch.length < ${batchPoints}) return null;`,
    "context.set('batch', []);",
    'return { payload: batch };',
  ].join('\n');
}

function batchTimer(batchMs: number): string {
  return [
    "context.set('batch', []);",
    'setInterval(() => {',
    "  const batch = context.get('batch');",
    '  if (batch.length === 0) return;',
    "  context.set('batch', []);",
    '  node.send({ payload: batch });',
    `}, ${batchMs});`,
  ].join('\n');
}

/**
 * flows.json: mqtt in → function → influxdb batch, with their two config
 * nodes. Ids must not equal any other property's value: Node-RED takes a
 * property whose value is a config node's id for a reference to it.
 */
export function nodeRedFlows(options: { mqttUrl: string; influxUrl: string; database: string; batchPoints: number; batchMs: number }): unknown[] {
  const mqtt = new URL(options.mqttUrl);
  const influx = new URL(options.influxUrl);
  return [
    { id: 'bench', type: 'tab', label: 'ingest bench' },
    {
      id: 'cfg-mqtt-broker',
      type: 'mqtt-broker',
      name: 'mosquitto',
      broker: mqtt.hostname,
      port: mqtt.port || '1883',
      clientid: `node-red-bench-${process.pid}`,
      autoConnect: true,
      usetls: false,
      protocolVersion: 4,
      keepalive: 60,
      cleansession: true,
      autoUnsubscribe: true,
    },
    {
      id: 'telemetry-in',
      type: 'mqtt in',
      z: 'bench',
      name: 'telemetry',
      topic: 'devices/+/telemetry',
      qos: '1',
      datatype: 'json',
      broker: 'cfg-mqtt-broker',
      nl: false,
      rap: true,
      rh: 0,
      inputs: 0,
      wires: [['batcher']],
    },
    {
      id: 'batcher',
      type: 'function',
      z: 'bench',
      name: `batch ${options.batchPoints} points or ${options.batchMs} ms`,
      func: batchFunction(options.batchPoints),
      initialize: batchTimer(options.batchMs),
      finalize: '',
      outputs: 1,
      timeout: 0,
      noerr: 0,
      libs: [],
      wires: [['influx-out']],
    },
    {
      id: 'cfg-influxdb',
      type: 'influxdb',
      hostname: influx.hostname,
      port: influx.port || '8086',
      protocol: 'http',
      database: options.database,
      name: 'influxd',
      usetls: false,
      influxdbVersion: '1.x',
    },
    { id: 'influx-out', type: 'influxdb batch', z: 'bench', influxdb: 'cfg-influxdb', precision: 'u', retentionPolicy: '', name: 'write', wires: [] },
  ];
}

function settingsJs(flowFile: string): string {
  const settings = {
    flowFile,
    credentialSecret: false,
    uiHost: '127.0.0.1',
    // No editor, admin API or HTTP-in endpoints: only the flow runs.
    httpAdminRoot: false,
    httpNodeRoot: false,
    logging: { console: { level: 'info', metrics: false, audit: false } },
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    functionExternalModules: false,
  };
  return `module.exports = ${JSON.stringify(settings, null, 2)};\n`;
}

export async function startNodeRed(options: NodeRedOptions): Promise<NodeRedPeer> {
  const log = options.log ?? (() => {});
  const { redJs, version } = await ensureNodeRed(log);
  const name = options.name ?? 'node-red';
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-bench-node-red-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  let port: number;
  try {
    port = await freePort();
    const flows = nodeRedFlows({ ...options, batchPoints: options.batchPoints ?? NODE_RED_BATCH_POINTS, batchMs: options.batchMs ?? NODE_RED_BATCH_MS });
    writeFileSync(join(dir, 'flows.json'), `${JSON.stringify(flows, null, 2)}\n`);
    // The influxdb config node reads this.credentials.username: an empty entry for it (plain text, no secret).
    writeFileSync(join(dir, 'flows_cred.json'), `${JSON.stringify({ 'cfg-influxdb': { username: '', password: '' } })}\n`);
    writeFileSync(join(dir, 'settings.js'), settingsJs('flows.json'));
  } catch (err) {
    removeDir();
    throw err;
  }

  const child = spawn(process.execPath, [redJs, '--userDir', dir, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const logs = { warn: 0, error: 0, samples: [] as string[] };
  let tail: string[] = [];
  let started = false;
  let connected = false;
  let ready = false;
  let onProgress: (() => void) | undefined;
  const onLine = (line: string): void => {
    tail = [...tail.slice(-9), line];
    const level = /\[(warn|error)\]/.exec(line)?.[1];
    // Counted once ready: the start-up notes (unencrypted credentials, ...) are expected; a failed start shows its tail.
    if (ready && (level === 'warn' || level === 'error')) {
      logs[level]++;
      if (logs.samples.length < 10) logs.samples.push(line);
    }
    if (line.includes('Started flows')) started = true;
    if (line.includes('Connected to broker')) connected = true;
    onProgress?.();
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    removeDir();
  };

  try {
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start its flows and connect to ${options.mqttUrl} within ${timeoutMs} ms: ${tail.join(' | ') || 'no output'}`)), timeoutMs);
      const check = (): void => {
        if (started && connected) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      };
      onProgress = check;
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal}): ${tail.join(' | ') || 'no output'}`));
      });
      check();
    });
  } catch (err) {
    await stop();
    throw err;
  } finally {
    onProgress = undefined;
  }

  return {
    name,
    pid: child.pid as number,
    url: options.mqttUrl,
    version,
    logs,
    stop,
  };
}
