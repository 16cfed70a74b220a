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
