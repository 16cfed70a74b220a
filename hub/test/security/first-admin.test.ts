/** The first admin: `iot-hub user add`, or HUB_ADMIN_USER / HUB_ADMIN_PASSWORD at start. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import t from 'tap';
import { runUserCommand } from '../../src/cli/user-command.js';
import { loadConfig } from '@iot-hub/hub';
import { login } from '../helpers/accounts.js';
import { startTestHub } from '../helpers/hub.js';

function io(stdin: string): { io: Parameters<typeof runUserCommand>[2]; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { io: { stdin: Readable.from([stdin]), stdout, stderr }, out: () => out, err: () => err };
}

t.test('`user add <name> --role admin --password-stdin` creates a user who can sign in', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const run = io('correct horse battery\n');
  t.equal(await runUserCommand(['add', 'alice', '--role', 'admin', '--password-stdin', '--data-dir', dir], {}, run.io), 0);
  t.match(run.out(), /^created admin alice in .*users\.db\n$/);

  const again = io('another password\n');
  t.equal(await runUserCommand(['add', 'alice', '--role', 'viewer', '--password-stdin'], { HUB_DATA_DIR: dir }, again.io), 2, 'taken name');
  t.equal(again.err(), 'user "alice" already exists\n');
  const short = io('short\n');
  t.equal(await runUserCommand(['add', 'bob', '--role', 'viewer', '--password-stdin', '--data-dir', dir], {}, short.io), 2);
  t.equal(short.err(), 'a password needs at least 8 characters\n');
  const usage = io('');
  t.equal(await runUserCommand(['add', 'bob', '--role', 'root', '--data-dir', dir], {}, usage.io), 2, 'bad role');
  t.match(usage.err(), /^Usage: iot-hub user add <username> --role viewer\|operator\|admin/);
  const noTty = io('');
  t.equal(await runUserCommand(['add', 'bob', '--role', 'viewer', '--data-dir', dir], {}, noTty.io), 2, 'no terminal, no --password-stdin');
  t.match(noTty.err(), /--password-stdin/);

  const hub = await startTestHub(t, {}, dir);
  const alice = await login(hub, 'alice', 'correct horse battery');
  t.match((await alice.api('GET', '/api/auth/me')).body, { user: 'alice', role: 'admin' });
});

t.test('HUB_ADMIN_USER / HUB_ADMIN_PASSWORD create the first admin, only while there are no users', async (t) => {
  const hub = await startTestHub(t, { adminUser: 'root', adminPassword: 'first-admin-password' });
  const root = await login(hub, 'root', 'first-admin-password');
  t.match((await root.api('GET', '/api/users')).body, { users: [{ username: 'root', role: 'admin' }] });
  await root.api('POST', '/api/users', { username: 'ada', password: 'ada-password', role: 'admin' });
  await root.api('DELETE', '/api/users/root').then((r) => t.equal(r.status, 409, 'not while signed in as root'));
  const ada = await login(hub, 'ada');
  t.equal((await ada.api('DELETE', '/api/users/root')).status, 204);

  // Users exist (ada): a restart with the same settings does not bring root back.
  const again = await hub.restart();
  t.equal((await fetch(`${again.httpUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'root', password: 'first-admin-password' }) })).status, 401);
});

t.test('the first admin needs both settings, and a password of 8+ characters', async (t) => {
  t.throws(() => loadConfig([], { HUB_ADMIN_USER: 'root' }), { message: 'invalid configuration: --admin-password: required with --admin-user: the first admin needs a name and a password' });
  t.throws(() => loadConfig([], { HUB_ADMIN_USER: 'root', HUB_ADMIN_PASSWORD: 'short' }), { message: 'invalid configuration: HUB_ADMIN_PASSWORD: must be at least 8 characters' });
});
