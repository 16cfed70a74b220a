#!/usr/bin/env node
/**
 * `npm run cluster`: the topology of docker-compose.yml's `cluster` profile
 * on this machine, from Debian's packages (postgresql, redis-server,
 * influxdb, haproxy): PostgreSQL, Redis, InfluxDB, three hub nodes with
 * `--cluster` and HAProxy in front (engines' startLocalCluster, which the
 * cluster tests and the cluster benchmark use too). Prints where to point a
 * browser and devices; Ctrl-C stops everything and removes the temp dir.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalCluster, type ClusterNodeSpec } from './cluster.js';
import { MissingEngineError } from './missing.js';

/** engines/dist/cluster-cli.js → hub/dist/main.js */
const HUB_MAIN = fileURLToPath(new URL('../../hub/dist/main.js', import.meta.url));

const HELP = `npm run cluster [-- options]

  --nodes N          hub nodes (default 3)
  --http-port P      HAProxy's HTTP port: dashboard, API, WebSockets (default: a free one)
  --mqtt-port P      HAProxy's MQTT port (default: a free one)
  --lease-sec S      the nodes' --node-lease-sec (default: the hub's, 10)
  --dir DIR          data and logs here, kept at exit (default: a temp dir, removed at exit)
  --log-level L      the nodes' log level (default info; logs go to DIR/node-N.log)

The admin token is HUB_ADMIN_TOKEN when set, else a new random one (printed).
Extra hub flags for every node: after --, e.g. npm run cluster -- -- --device-rate 0
`;

interface Node {
  spec: ClusterNodeSpec;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

async function main(argv: string[]): Promise<number> {
  const split = argv.indexOf('--');
  const hubExtra = split >= 0 ? argv.slice(split + 1) : [];
  const { values } = parseArgs({
    args: split >= 0 ? argv.slice(0, split) : argv,
    strict: true,
    options: {
      nodes: { type: 'string' },
      'http-port': { type: 'string' },
      'mqtt-port': { type: 'string' },
      'lease-sec': { type: 'string' },
      dir: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!existsSync(HUB_MAIN)) {
    process.stderr.write(`${HUB_MAIN} is missing: build first (npm run build)\n`);
    return 1;
  }
  const whole = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) throw new Error(`--${name} must be a whole number, got "${text}"`);
    return Number(text);
  };
  const keep = values.dir !== undefined;
  const root = values.dir ?? mkdtempSync(join(tmpdir(), 'iot-hub-local-cluster-'));
  mkdirSync(root, { recursive: true });
  const adminToken = process.env.HUB_ADMIN_TOKEN ?? randomBytes(24).toString('hex');
  const logLevel = values['log-level'] ?? 'info';

  process.stderr.write(`starting PostgreSQL, Redis, InfluxDB, ${values.nodes ?? 3} hub nodes and HAProxy (data and logs in ${root}) …\n`);
  const leaseSec = whole('lease-sec', values['lease-sec']);
  const mqttPort = whole('mqtt-port', values['mqtt-port']);
  const httpPort = whole('http-port', values['http-port']);
  const cluster = await startLocalCluster<Node>({
    nodes: whole('nodes', values.nodes) ?? 3,
    adminToken,
    root,
    ...(leaseSec === undefined ? {} : { leaseSec }),
    influxDatabase: 'telemetry',
    args: ['--log-level', logLevel, ...hubExtra],
    // deploy/haproxy.cfg's interval.
    checkInterval: '2s',
    haproxyPorts: { ...(mqttPort ? { mqtt: mqttPort } : {}), ...(httpPort ? { http: httpPort } : {}) },
    startNode: (spec) => startNode(spec, join(root, `${spec.nodeId}.log`)),
    stopNode: (node) => node.stop(),
  });
  const haproxy = cluster.haproxy!;
  let stopping = false;
  for (const node of cluster.nodes) {
    void node.exited.then((code) => {
      if (!stopping) process.stderr.write(`${node.spec.nodeId} exited (code ${code}); see ${join(root, `${node.spec.nodeId}.log`)}\n`);
    });
  }
  process.stdout.write(
    [
      '',
      'Cluster up, through HAProxy:',
      `  Dashboard and API  http://127.0.0.1:${haproxy.httpPort}/`,
      `  MQTT               mqtt://127.0.0.1:${haproxy.mqttPort}`,
      `  Admin token        ${adminToken}`,
      '',
      'Nodes (direct):',
      ...cluster.specs.map((s) => `  ${s.nodeId}  http://127.0.0.1:${s.httpPort}/  mqtt://127.0.0.1:${s.mqttPort}  log ${join(root, `${s.nodeId}.log`)}`),
      '',
      'Engines:',
      `  PostgreSQL  ${cluster.pg.url}`,
      `  Redis       ${cluster.redis.url}`,
      `  InfluxDB    ${cluster.influx.urlFor(cluster.influxDatabase)}`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  stopping = true;
  process.stderr.write('\nstopping …\n');
  await cluster.stop();
  if (!keep) rmSync(root, { recursive: true, force: true });
  return 0;
}

/** One hub node as users run it (`node hub/dist/main.js`), its output in logFile; resolves once it listens. */
function startNode(spec: ClusterNodeSpec, logFile: string): Promise<Node> {
  const child = spawn(process.execPath, ['--max-semi-space-size=64', HUB_MAIN, ...spec.args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...spec.env } });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const node: Node = {
    spec,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      log.end();
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spec.nodeId} did not start within 60 s; see ${logFile}`)), 60_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${spec.nodeId} exited with ${code} before listening; see ${logFile}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      log.write(`${line}\n`);
      if (line.includes('"hub listening"')) {
        clearTimeout(timer);
        resolve(node);
      }
    });
  });
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`npm run cluster: ${err instanceof MissingEngineError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}
