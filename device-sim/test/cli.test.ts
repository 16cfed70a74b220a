/**
 * The CLI: bad usage is one clear line on stderr and exit 2 (spawning the
 * built dist/cli.js, as users run it); parsing rules through parseCli.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli, parseDuration, UsageError } from '../src/cli-args.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.before(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npx tsc -b device-sim)`);
});

t.test('bad flags exit 2 with one clear line', async (t) => {
  const cases: [string[], string][] = [
    [['--bogus'], 'device-sim: unknown option --bogus (see device-sim --help)\n'],
    [['--devices'], 'device-sim: --devices needs a value\n'],
    [['--admin-token', 'x', '--devices', 'ten'], 'device-sim: --devices must be a whole number, got "ten"\n'],
    [['--admin-token', 'x', '--devices', '0'], 'device-sim: --devices must be between 1 and 100000, got 0\n'],
    [['--admin-token', 'x', '--transport', 'tcp'], 'device-sim: --transport must be mqtt, ws or mixed, got "tcp"\n'],
    [['--admin-token', 'x', '--interval', 'soon'], 'device-sim: --interval must be a duration like 500ms, 5s, 1m or 2h, got "soon"\n'],
    [['--admin-token', 'x', '--hub', 'localhost:8080'], 'device-sim: --hub must use http or https, got "localhost:8080"\n'],
    [['--admin-token', 'x', '--mqtt', 'http://localhost:1883'], 'device-sim: --mqtt must use mqtt or mqtts or tcp, got "http://localhost:1883"\n'],
    [['load', '--admin-token', 'x', '--qos', '2'], 'device-sim: --qos must be 0 or 1, got "2"\n'],
    [['load', '--admin-token', 'x', '--transport', 'ws'], 'device-sim: --transport is for fleet mode, not load\n'],
    [['--admin-token', 'x', '--duration', '5s'], 'device-sim: --duration is for load mode, not fleet\n'],
    [['flood'], 'device-sim: unknown command "flood" (commands: load; none runs a fleet)\n'],
    [['--kinds', 'toaster', '--admin-token', 'x'], 'device-sim: --kinds: unknown kind "toaster" (known: climate-sensor, smart-plug, motion-sensor, contact-sensor, dimmable-light, thermostat, energy-meter)\n'],
    [['--admin-token', 'x', '--scenario', 'home.json', '--devices', '3'], 'device-sim: --devices does not go with --scenario: the scenario file says that\n'],
    [['load', '--admin-token', 'x', '--scenario', 'home.json'], 'device-sim: --scenario is for fleet mode, not load\n'],
    [['--admin-token', 'x', '--scenario', '/nonexistent/home.json'], 'device-sim: --scenario: cannot read /nonexistent/home.json: ENOENT\n'],
    [['--admin-token', 'x', '--duplicate-rate', '2'], 'device-sim: --duplicate-rate must be a number from 0 to 1, got "2"\n'],
    [['--admin-token', 'x', '--disconnect-every', 'often'], 'device-sim: --disconnect-every must be a duration like 500ms, 5s, 1m or 2h, got "often"\n'],
    [['load', '--admin-token', 'x', '--malformed-rate', '0.1'], 'device-sim: --malformed-rate is for fleet mode, not load\n'],
    [[], 'device-sim: an admin token is needed to provision devices: pass --admin-token or set HUB_ADMIN_TOKEN (or give --credentials)\n'],
  ];
  for (const [args, line] of cases) {
    const result = await runCli(args);
    t.equal(result.code, 2, `exit 2 for ${args.join(' ')}`);
    t.equal(result.stderr, line, `message for ${args.join(' ') || '(no args)'}`);
    t.equal(result.stdout, '');
  }
});

t.test('--help documents every flag and exits 0', async (t) => {
  const result = await runCli(['--help']);
  t.equal(result.code, 0);
  for (const flag of ['--hub', '--mqtt', '--admin-token', '--credentials', '--devices', '--id-prefix', '--transport', '--interval', '--seed', '--kinds', '--scenario', '--disconnect-every', '--offline-every', '--offline-for', '--clock-skew', '--duplicate-rate', '--reorder-rate', '--malformed-rate', '--oversize-rate', '--stall-every', '--stall-for', '--flap-every', '--flap-count', '--duration', '--qos', '--inflight', '--rate', '--json', '--help']) {
    t.match(result.stdout, flag);
  }
  for (const env of ['HUB_URL', 'HUB_MQTT_URL', 'HUB_ADMIN_TOKEN']) t.match(result.stdout, env);
});

t.test('a bad scenario file: exit 2, one line naming the file and each bad field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'device-sim-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'home.json');
  writeFileSync(file, JSON.stringify({ rooms: [{ name: 'Hall', devices: [{ kind: 'toaster' }, { kind: 'thermostat', interval: 'often' }] }] }));
  const result = await runCli(['--admin-token', 'x', '--scenario', file]);
  t.equal(result.code, 2);
  t.equal(
    result.stderr,
    `device-sim: ${file}: rooms[0].devices[0].kind: unknown kind "toaster" (known: climate-sensor, smart-plug, motion-sensor, contact-sensor, dimmable-light, thermostat, energy-meter); rooms[0].devices[1].interval: must be a duration from 100ms to 3600s, like "500ms", "5s" or "1m", got "often"\n`,
  );
});

t.test('an unreachable hub is one line naming it, exit 1', async (t) => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const result = await runCli(['--devices', '1'], { HUB_URL: `http://127.0.0.1:${port}`, HUB_ADMIN_TOKEN: 'some-admin-token-123' });
  t.equal(result.code, 1);
  t.equal(result.stderr, `device-sim: hub unreachable at http://127.0.0.1:${port} (POST /api/devices): ECONNREFUSED (check --hub / HUB_URL)\n`);
});

t.test('parseCli: defaults, env fallbacks, flags over env', async (t) => {
  const fleet = parseCli(['--admin-token', 'tok'], {});
  t.match(fleet, { command: 'fleet', hubUrl: 'http://localhost:8080', mqttUrl: 'mqtt://localhost:1883', devices: 10, transport: 'mixed', intervalMs: 5000, seed: 1, idPrefix: 'sim-' });
  const env = { HUB_URL: 'http://hub.lan:9000', HUB_ADMIN_TOKEN: 'from-env' };
  t.match(parseCli([], env), { hubUrl: 'http://hub.lan:9000', mqttUrl: 'mqtt://hub.lan:1883', adminToken: 'from-env' });
  t.match(parseCli(['--hub', 'http://other:1/', '--mqtt', 'mqtt://broker:2'], env), { hubUrl: 'http://other:1', mqttUrl: 'mqtt://broker:2' });
  t.match(parseCli(['load', '--devices', '1000', '--duration', '15s', '--qos', '0', '--inflight', '8', '--rate', '5000'], env), {
    command: 'load',
    devices: 1000,
    durationMs: 15_000,
    qos: 0,
    inflight: 8,
    rate: 5000,
    idPrefix: 'load-',
  });
  t.same(parseCli(['-h'], {}), { command: 'help' });
  t.same(parseCli(['--admin-token', 'x'], {}), { ...parseCli(['--admin-token', 'x'], {}), faults: {} }, 'no faults by default');
  t.match(
    parseCli(['--admin-token', 'x', '--disconnect-every', '5m', '--offline-every', '1h', '--offline-for', '90s', '--clock-skew=-2m', '--duplicate-rate', '0.01', '--reorder-rate', '0', '--malformed-rate', '.5', '--oversize-rate', '1', '--stall-every', '2m', '--stall-for', '5s', '--flap-every', '10m', '--flap-count', '4'], {}),
    {
      faults: { disconnectEveryMs: 300_000, offlineEveryMs: 3_600_000, offlineForMs: 90_000, clockSkewMs: -120_000, duplicateRate: 0.01, reorderRate: 0, malformedRate: 0.5, oversizeRate: 1, stallEveryMs: 120_000, stallForMs: 5000, flapEveryMs: 600_000, flapCount: 4 },
    },
  );
  t.match(parseCli(['--admin-token', 'x', '--clock-skew', '30s'], {}), { faults: { clockSkewMs: 30_000 } });
  t.throws(() => parseCli(['--id-prefix', 'a/b', '--admin-token', 'x'], {}), UsageError);
});

t.test('parseDuration', async (t) => {
  t.equal(parseDuration('--x', '250ms'), 250);
  t.equal(parseDuration('--x', '1500'), 1500);
  t.equal(parseDuration('--x', '1.5s'), 1500);
  t.equal(parseDuration('--x', '2m'), 120_000);
  t.equal(parseDuration('--x', '1h'), 3_600_000);
  t.throws(() => parseDuration('--x', '0s'), { message: '--x must be more than zero, got "0s"' });
  t.throws(() => parseDuration('--x', '-1s'), UsageError);
});
