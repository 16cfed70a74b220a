/**
 * The hub as users run it (`node hub/dist/main.js`): the admin token is
 * generated and printed once, and SIGTERM stops it cleanly with exit 0.
 */
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const main = resolve(import.meta.dirname, '../dist/main.js');

interface Running {
  child: ChildProcess;
  httpPort: number;
  stderr: () => string;
  stdoutLines: string[];
}

async function startHub(t: Test, dataDir: string): Promise<Running> {
  const child = spawn(process.execPath, [main, '--http-port', '0', '--mqtt-port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const stdoutLines: string[] = [];
  const httpPort = await new Promise<number>((resolvePort, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      stdoutLines.push(line);
      const entry = JSON.parse(line) as { msg?: string; httpPort?: number };
      if (entry.msg === 'hub listening' && entry.httpPort) resolvePort(entry.httpPort);
    });
    child.once('exit', (code) => reject(new Error(`hub exited with ${code}: ${stderr}`)));
  });
  return { child, httpPort, stderr: () => stderr, stdoutLines };
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
  await new Promise((r) => first.child.once('exit', r));

  const second = await startHub(t, dataDir);
  await new Promise((r) => setTimeout(r, 200));
  t.notMatch(second.stderr(), /Generated admin token/, 'not printed again');
  const again = await fetch(`http://127.0.0.1:${second.httpPort}/api/devices`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(again.status, 200, 'the same token still works after a restart');
  second.child.kill('SIGTERM');
  await new Promise((r) => second.child.once('exit', r));
});

t.test('SIGTERM stops the hub gracefully with exit code 0', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'iot-hub-main-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const hub = await startHub(t, dataDir);
  const exited = new Promise<number | null>((r) => hub.child.once('exit', (code) => r(code)));
  hub.child.kill('SIGTERM');
  t.equal(await exited, 0);
  const messages = hub.stdoutLines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  t.ok(messages.includes('hub stopped'), 'it logged that it stopped');
});
