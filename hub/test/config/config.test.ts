/** Config: flags over env over defaults; bad config is one line and exit code 2. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '@iot-hub/hub';

const main = resolve(import.meta.dirname, '../../dist/main.js');

t.test('defaults, env and flags', async (t) => {
  const defaults = loadConfig([], {}).config;
  t.match(defaults, { host: '127.0.0.1', httpPort: 8080, mqttPort: 1883, store: 'sqlite', influxUrl: null, adminToken: null, maxPayloadBytes: 65536, allowedOrigins: [] });
  t.ok(Object.isFrozen(defaults));
  const fromEnv = loadConfig([], { HUB_HTTP_PORT: '9000', HUB_MQTT_PORT: '0', HUB_ALLOWED_ORIGINS: 'https://a.example, https://b.example/' }).config;
  t.match(fromEnv, { httpPort: 9000, mqttPort: 0, allowedOrigins: ['https://a.example', 'https://b.example'] });
  const flagWins = loadConfig(['--http-port', '9100'], { HUB_HTTP_PORT: '9000' }).config;
  t.equal(flagWins.httpPort, 9100);
  t.equal(loadConfig(['--help'], {}).help, true);
});

t.test('each bad setting is named in the error', async (t) => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--http-port', 'eighty'], {}, /^invalid configuration: --http-port: expected a port number 0-65535, got "eighty"$/],
    [[], { HUB_MQTT_PORT: '70000' }, /^invalid configuration: HUB_MQTT_PORT: expected a port number 0-65535, got 70000$/],
    [['--store', 'mongo'], {}, /--store: expected one of sqlite, influx, got "mongo"/],
    [['--store', 'influx'], {}, /--influx-url: required when --store is influx/],
    [['--influx-url', 'not a url'], {}, /--influx-url: not a URL/],
    [['--influx-url', 'http://localhost:8086'], {}, /--influx-url: the URL must name the database/],
    [['--admin-token', 'short'], {}, /--admin-token: must be at least 16 characters/],
    [['--admin-token', 'has/slash+plus=0123456789'], {}, /--admin-token: may contain only letters, digits and \. _ ~ -/],
    [['--log-level', 'loud'], {}, /--log-level: expected one of/],
    [['--max-payload-bytes', '10'], {}, /--max-payload-bytes: expected 256\.\.16777216 bytes/],
    [['--allowed-origins', 'nope'], {}, /--allowed-origins: not an origin/],
    [['--frobnicate'], {}, /--frobnicate: Unknown option '--frobnicate' \(see --help\)/],
  ];
  for (const [argv, env, message] of cases) {
    t.throws(() => loadConfig(argv, env), ConfigError, JSON.stringify([argv, env]));
    try {
      loadConfig(argv, env);
    } catch (err) {
      t.match((err as Error).message, message);
    }
  }
});

t.test('the CLI prints one line and exits with code 2 on bad config', async (t) => {
  const run = spawnSync(process.execPath, [main, '--http-port=-1'], { encoding: 'utf8' });
  t.equal(run.status, 2);
  t.equal(run.stderr, 'invalid configuration: --http-port: expected a port number 0-65535, got "-1"\n');
  t.equal(run.stdout, '');
  const ambiguous = spawnSync(process.execPath, [main, '--http-port', '-1'], { encoding: 'utf8' });
  t.equal(ambiguous.status, 2);
  t.match(ambiguous.stderr, /^invalid configuration: --http-port: Option '--http-port' argument is ambiguous\. \(see --help\)\n$/);
});

t.test('--help lists every flag with its env var', async (t) => {
  const run = spawnSync(process.execPath, [main, '--help'], { encoding: 'utf8' });
  t.equal(run.status, 0);
  for (const flag of ['--http-port', '--mqtt-port', '--host', '--data-dir', '--store', '--influx-url', '--admin-token']) t.match(run.stdout, flag);
  for (const env of ['HUB_HTTP_PORT', 'HUB_MQTT_PORT', 'HUB_HOST', 'HUB_DATA_DIR', 'HUB_STORE', 'HUB_INFLUX_URL', 'HUB_ADMIN_TOKEN']) t.match(run.stdout, env);
});

t.test('a busy port stops the hub with a clear line and exit code 2', async (t) => {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-cfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const run = spawnSync(process.execPath, [main, '--mqtt-port', String(port), '--http-port', '0', '--data-dir', dir, '--log-level', 'silent'], { encoding: 'utf8', timeout: 10_000 });
  t.equal(run.status, 2);
  t.match(run.stderr, /cannot listen: .*EADDRINUSE.*--mqtt-port/);
});
