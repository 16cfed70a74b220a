/**
 * `npm run conformance`: argument parsing (pure), then the built CLI as a
 * process against a test hub: the checklist on stdout, progress on stderr,
 * exit 0 when nothing failed, 1 when a check failed, 2 when no run could be
 * made. Needs the build (`npx tsc -b`).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startTestHub } from '../../hub/test/helpers/hub.js';
import { CHECKS, type ConformanceReport } from '../src/report.js';
import { UsageError, parseCli } from '../src/cli-args.js';
import { startFakeDevice } from './helpers/fake-device.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('arguments: defaults, the token from the environment, values as JSON or text, one clear line per mistake', async (t) => {
  t.same(parseCli(['--device', 'th-01'], { HUB_API_TOKEN: 'tok' }), { command: 'run', json: false, options: { hubUrl: 'http://localhost:8080', token: 'tok', deviceId: 'th-01' } });
  t.same(parseCli(['--help'], {}), { command: 'help' });
  const full = parseCli(['--device', 'th-01', '--hub', 'http://hub:9000', '--token', 't', '--observe-sec', '90', '--key', 'mode', '--value', 'eco', '--command', 'boost', '--params', '{"minutes":5}', '--timeout-sec', '20', '--json'], {});
  t.same(full, {
    command: 'run',
    json: true,
    options: { hubUrl: 'http://hub:9000', token: 't', deviceId: 'th-01', observeSec: 90, timeoutMs: 20_000, key: 'mode', value: 'eco', command: 'boost', params: { minutes: 5 } },
  });
  const value = (v: string) => (parseCli(['--device', 'd', '--key', 'k', '--value', v], { HUB_API_TOKEN: 't' }) as { options: { value?: unknown } }).options.value;
  t.same([value('20.5'), value('true'), value('"21"'), value('heat')], [20.5, true, '21', 'heat']);

  const mistakes: [string[], Record<string, string>, string][] = [
    [[], { HUB_API_TOKEN: 't' }, '--device ID is required (see --help)'],
    [['--device', 'th-01'], {}, 'an admin token is required: --token TOKEN or env HUB_API_TOKEN'],
    [['--device', 'a/b', '--token', 't'], {}, '--device "a/b" is not a device id'],
    [['--device', 'd', '--token', 't', '--hub', 'mqtt://x'], {}, '--hub must be an http:// or https:// URL, got "mqtt://x"'],
    [['--device', 'd', '--token', 't', '--key', 'k'], {}, '--key and --value go together'],
    [['--device', 'd', '--token', 't', '--key', 'k', '--value', 'null'], {}, '--value null removes a key; give a value the device applies'],
    [['--device', 'd', '--token', 't', '--observe-sec', '0'], {}, '--observe-sec must be a whole number of seconds from 1 to 7200, got "0"'],
    [['--device', 'd', '--token', 't', '--params', '{}'], {}, '--params needs --command'],
    [['--device', 'd', '--token', 't', '--command', 'x', '--params', '[1]'], {}, '--params must be a JSON object, got "[1]"'],
  ];
  for (const [argv, env, message] of mistakes) {
    t.throws(() => parseCli(argv, env), new UsageError(message), argv.join(' ') || '(none)');
  }
  t.throws(() => parseCli(['--device', 'd', '--token', 't', '--colour'], {}), { name: 'UsageError', message: /Unknown option '--colour'/ });
});

t.test('the CLI: checklist on stdout and exit 0 for a conformant device, JSON with --json', async (t) => {
  const hub = await startTestHub(t);
  const { token } = await hub.provision('cli-ok', 'thermostat');
  await startFakeDevice(t, hub.mqttUrl, 'cli-ok', token).ready;
  const common = ['--device', 'cli-ok', '--hub', hub.httpUrl, '--observe-sec', '6', '--timeout-sec', '5', '--key', 'target', '--value', '22.5'];
  const text = await run(common, { HUB_API_TOKEN: hub.adminToken });
  t.equal(text.code, 0, text.stdout + text.stderr);
  const lines = text.stdout.split('\n');
  t.equal(lines[0], `Conformance of device cli-ok at ${hub.httpUrl} (firmware-protocol.md FP-9)`);
  for (const c of CHECKS) t.ok(lines.includes(`PASS  [${c.clause}] ${c.title}`), `a line for ${c.id}`);
  t.match(text.stdout, new RegExp(`\\n${CHECKS.length} passed, 0 failed, 0 warnings, 0 skipped in \\d+ s\\n$`));
  t.match(text.stderr, /… asking the hub to disconnect the device; it should reconnect\n/, 'progress on stderr');

  const json = await run([...common, '--json', '--token', hub.adminToken]);
  t.equal(json.code, 0);
  const report = JSON.parse(json.stdout) as ConformanceReport;
  t.match(report, { deviceId: 'cli-ok', hubUrl: hub.httpUrl, ok: true, counts: { pass: CHECKS.length, fail: 0 } });
});

t.test('the CLI: exit 1 when a check fails (the device is offline), exit 2 when no run can be made', async (t) => {
  const hub = await startTestHub(t);
  await hub.provision('cli-off', 'thermostat');
  const offline = await run(['--device', 'cli-off', '--hub', hub.httpUrl, '--token', hub.adminToken]);
  t.equal(offline.code, 1);
  t.match(offline.stdout, 'FAIL  [FP-4.1] the device is connected and has sent hello\n        the device is offline (never-connected): connect it, then run again\n');
  t.match(offline.stdout, `SKIP  [FP-4.4] a repeated command id is executed once, answered with the same result\n        the device is not connected\n`);

  const unknown = await run(['--device', 'ghost', '--hub', hub.httpUrl, '--token', hub.adminToken]);
  t.same([unknown.code, unknown.stdout, unknown.stderr], [2, '', 'conformance: the hub has no device "ghost"\n']);
  const badToken = await run(['--device', 'cli-off', '--hub', hub.httpUrl, '--token', 'wrong']);
  t.equal(badToken.code, 2);
  t.match(badToken.stderr, /^conformance: GET \/api\/devices\/cli-off: 401 unauthorized: /);
  const usage = await run(['--hub', hub.httpUrl]);
  t.same([usage.code, usage.stderr], [2, 'conformance: --device ID is required (see --help)\n']);
  const help = await run(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^conformance: checks a connected device against firmware-protocol.md FP-9\n/);
});
