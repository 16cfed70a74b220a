/**
 * Issue 18 item 1, the last line of defence: an exception or rejection that
 * nothing handled is logged and counted by the guard main.ts installs, and
 * the process carries on. Run in a child process, as the guard is
 * process-wide.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const HUB_INDEX = resolve(import.meta.dirname, '../../../dist/index.js');

const SCRIPT = `
import { createLogger, installProcessGuard, UncaughtErrors } from ${JSON.stringify(HUB_INDEX)};
const errors = new UncaughtErrors();
installProcessGuard(process, createLogger('info'), errors);
setTimeout(() => { throw new Error('boom from a timer'); }, 10);
setTimeout(() => { throw new Error('boom again'); }, 20);
Promise.reject(new Error('nobody catches this'));
setTimeout(() => process.stderr.write(JSON.stringify(errors.counts)), 200);
`;

t.test('uncaught exceptions and unhandled rejections are logged and counted; the process carries on', async (t) => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  t.equal(code, 0, `exited normally (stderr: ${stderr})`);
  t.same(JSON.parse(stderr), { uncaught_exception: 2, unhandled_rejection: 1 }, 'every one counted');
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string }; notLoggedSinceLast?: number });
  t.match(lines, [
    { level: 50, msg: /^unhandled promise rejection: the hub carries on/, err: { message: 'nobody catches this' } },
    { level: 50, msg: /^uncaught exception: the hub carries on/, err: { message: 'boom from a timer' } },
  ]);
  t.equal(lines.length, 2, 'the second exception within the interval is counted, not logged');
});
