/**
 * docker-compose.yml (no Docker engine here, so it is checked, not run): the
 * hub service's environment block parses, every variable it sets is a
 * setting the hub knows, and the values pass the hub's own config checks.
 * A small parser of the block is enough: no YAML library is installed.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig, SETTINGS } from '@iot-hub/hub';

const compose = readFileSync(resolve(import.meta.dirname, '../../../docker-compose.yml'), 'utf8');

/** The `environment:` map of one service, as written (mapping form only). */
function serviceEnv(service: string): Record<string, string> {
  const lines = compose.split('\n');
  const start = lines.findIndex((l) => l === `  ${service}:`);
  if (start < 0) throw new Error(`no service ${service}`);
  const env: Record<string, string> = {};
  let inEnv = false;
  for (const line of lines.slice(start + 1)) {
    if (/^ {2}\S/.test(line) || /^\S/.test(line)) break; // next service or top-level key
    if (/^ {4}environment:\s*$/.test(line)) {
      inEnv = true;
      continue;
    }
    if (inEnv && /^ {4}\S/.test(line)) inEnv = false;
    if (!inEnv || /^\s*(#.*)?$/.test(line)) continue;
    const m = /^ {6}([A-Z0-9_]+):\s*(.*?)\s*$/.exec(line);
    if (!m) throw new Error(`cannot parse environment line: ${line}`);
    env[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  }
  return env;
}

t.test('every variable the hub service sets is a hub setting, and the values are valid', async (t) => {
  const env = serviceEnv('hub');
  const known = new Set(SETTINGS.map((s) => s.env));
  t.ok(Object.keys(env).length > 0);
  for (const key of Object.keys(env)) t.ok(known.has(key), `${key} is a hub setting`);
  t.match(env, { HUB_STORE: 'influx', HUB_INFLUX_URL: 'http://influxdb:8086/telemetry' });
  // ${VAR:?message} is filled in by compose: stand in a valid token.
  const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.startsWith('${') ? 'compose-supplied-token-0123456789' : v]));
  const { config } = loadConfig([], resolved);
  t.match(config, { store: 'influx', influxUrl: 'http://influxdb:8086/telemetry', host: '0.0.0.0', dataDir: '/data' });
});

t.test('the InfluxDB service creates the database the hub writes to', async (t) => {
  const db = new URL(serviceEnv('hub').HUB_INFLUX_URL ?? '').pathname.slice(1);
  t.equal(serviceEnv('influxdb').INFLUXDB_DB, db);
});

/**
 * Cluster flags the lead is adding with --cluster (issue 20). Until they are
 * settings, the cluster hubs may name them; once SETTINGS has one, it is
 * checked like any other, and this list can lose it.
 */
const CLUSTER_HUBS = ['hub-1', 'hub-2', 'hub-3'];

/** A service's one-line `command: [...]` (JSON array form). */
function serviceCommand(service: string): string[] {
  const lines = compose.split('\n');
  const start = lines.findIndex((l) => l === `  ${service}:`);
  const line = lines.slice(start + 1).find((l) => /^ {4}command:/.test(l) || /^ {0,2}\S/.test(l));
  if (!line?.startsWith('    command:')) throw new Error(`no one-line command in ${service}`);
  return JSON.parse(line.slice('    command:'.length)) as string[];
}

/** The value of a service's line `    <key>: <value>` or `        <key>: <value>` (first match). */
function serviceValue(service: string, key: string): string | undefined {
  const lines = compose.split('\n');
  const start = lines.findIndex((l) => l === `  ${service}:`);
  for (const line of lines.slice(start + 1)) {
    if (/^ {0,2}\S/.test(line)) break;
    const m = new RegExp(`^ +${key}:\\s*(.*?)\\s*$`).exec(line);
    if (m) return m[1];
  }
  return undefined;
}

t.test('cluster profile: each hub node\'s flags and variables are hub settings, and pass its checks', async (t) => {
  const flags = new Set(SETTINGS.map((s) => s.flag));
  const known = new Set(SETTINGS.map((s) => s.env));
  for (const [i, hub] of CLUSTER_HUBS.entries()) {
    t.equal(serviceValue(hub, 'profiles'), '["cluster"]', `${hub} is in the cluster profile only`);
    const args = serviceCommand(hub);
    t.same(args.slice(0, 3), ['node', '--max-semi-space-size=64', 'hub/dist/main.js'], 'the image\'s own command, with flags after it');
    for (const arg of args.filter((a) => a.startsWith('--') && !a.startsWith('--max-semi-space'))) {
      const flag = arg.slice(2);
      t.ok(flags.has(flag), `${hub}: ${arg} is a hub setting`);
    }
    t.equal(args[args.indexOf('--node-id') + 1], `hub-${i + 1}`, 'node ids differ');
    t.equal(args[args.indexOf('--store') + 1], 'influx');
    const env = serviceEnv(hub);
    for (const key of Object.keys(env)) t.ok(known.has(key), `${hub}: ${key} is a hub setting`);
    // Compose fills in the secrets; stand-ins of the right shape take their place here.
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace(/\$\{[^}]+\}/g, 'compose-supplied-secret-0123456789')]));
    const { config } = loadConfig(args.slice(3), resolved);
    t.match(config, { cluster: true, nodeId: `hub-${i + 1}`, store: 'influx', influxUrl: 'http://influxdb:8086/telemetry', proxyProtocolFrom: ['172.28.0.10'], dataDir: '/data' });
    t.match(config.pgUrl, /^postgres:\/\/hub:.*@postgres:5432\/hub$/);
    t.match(config.redisUrl, /^redis:\/\/:.*@redis:6379$/);
    t.notOk(args.some((a) => a.includes('PASSWORD')), 'no password on the command line');
  }
});

t.test('cluster profile: the hubs trust exactly the balancer, which runs deploy/haproxy.cfg over these hubs', async (t) => {
  t.equal(serviceValue('haproxy', 'ipv4_address'), '172.28.0.10');
  for (const hub of CLUSTER_HUBS) t.equal(serviceEnv(hub).HUB_PROXY_PROTOCOL_FROM, '172.28.0.10');
  t.match(compose, '      - ./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
  const cfg = readFileSync(resolve(import.meta.dirname, '../../../deploy/haproxy.cfg'), 'utf8');
  const servers = [...cfg.matchAll(/^ {4}server (\S+) (\S+) .*send-proxy-v2/gm)].map((m) => `${m[1]} ${m[2]}`);
  t.same(servers, [...CLUSTER_HUBS.map((h) => `${h} ${h}:1883`), ...CLUSTER_HUBS.map((h) => `${h} ${h}:8080`)]);
  t.equal(serviceEnv('postgres').POSTGRES_PASSWORD, '${HUB_PG_PASSWORD:?set HUB_PG_PASSWORD}');
  t.equal(serviceEnv('hub-1').HUB_PG_URL, 'postgres://hub:${HUB_PG_PASSWORD:?set HUB_PG_PASSWORD}@postgres:5432/hub', 'the nodes use the password PostgreSQL was given');
});
