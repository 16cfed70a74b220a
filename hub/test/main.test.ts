/**
 * The hub as users run it (`node hub/dist/main.js`): the admin token is
 * generated and printed once, and SIGTERM stops it cleanly with exit 0.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnHub, type HubProcess } from './helpers/hub-process.js';

function startHub(t: Test, dataDir: string): Promise<HubProcess> {
  return spawnHub(t, ['--data-dir', dataDir]);
}

t.test('the generated admin token is printed once, works, and only its hash is kept', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'iot-hub-main-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

  const first = await startHub(t, dataDir);
  await new Promise((r) => setTimeout(r, 200));
  const token = /Generated admin token[^\n]*\n\n {2}(\S+)\n/.exec(first.stderr())?.[1];
  t.ok(token, 'a token was printed');
  const res = await fetch(`http://127.0.0.1:${first.httpPort}/api/devices`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(res.status, 200, 'the printed token is accepted');
  const stored = readFileSync(join(dataDir, 'admin-token.sha256'), 'utf8');
  t.notMatch(stored, token as string, 'the token itself is not stored');
  first.child.kill('SIGTERM');
  await first.exited;

  const second = await startHub(t, dataDir);
  await new Promise((r) => setTimeout(r, 200));
  t.notMatch(second.stderr(), /Generated admin token/, 'not printed again');
  const again = await fetch(`http://127.0.0.1:${second.httpPort}/api/devices`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(again.status, 200, 'the same token still works after a restart');
  second.child.kill('SIGTERM');
  await second.exited;
});

t.test('SIGTERM stops the hub gracefully with exit code 0', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'iot-hub-main-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const hub = await startHub(t, dataDir);
  hub.child.kill('SIGTERM');
  t.equal(await hub.exited, 0);
  const messages = hub.stdoutLines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  t.ok(messages.includes('hub stopped'), 'it logged that it stopped');
});
