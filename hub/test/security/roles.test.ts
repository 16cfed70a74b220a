/** [G3] on the HTTP API: a viewer looks, an operator also commands, an admin also provisions. */
import t from 'tap';
import { addUser, call, login } from '../helpers/accounts.js';
import { startTestHub } from '../helpers/hub.js';
import { provisionDevice } from '../commands/test-device.js';

t.test('a viewer can read but cannot command, cancel, patch desired state or provision', async (t) => {
  const hub = await startTestHub(t);
  await hub.provision('lamp-1', 'lamp');
  await addUser(hub, 'vera', 'viewer');
  const vera = await login(hub, 'vera');

  t.equal((await vera.api('GET', '/api/devices')).status, 200, 'lists devices');
  t.equal((await vera.api('GET', '/api/devices/lamp-1/state')).status, 200, 'reads state');
  t.equal((await vera.api('GET', '/api/audit')).status, 200, 'reads the audit log');
  t.equal((await vera.api('GET', '/metrics')).status, 200, 'reads metrics');

  const command = await vera.api('POST', '/api/devices/lamp-1/commands', { name: 'set' });
  t.equal(command.status, 403, 'no command');
  t.same(command.body, { error: 'forbidden', code: 403, message: 'POST /api/devices/:id/commands needs the operator role (vera is viewer)' });
  t.equal((await vera.api('PATCH', '/api/devices/lamp-1/state/desired', { state: { on: true } })).status, 403, 'no desired state');
  t.equal((await vera.api('POST', '/api/commands/cmd_x/cancel')).status, 403, 'no cancel');
  t.match((await vera.api('POST', '/api/devices', { id: 'x-1', kind: 'sensor' })).body, { error: 'forbidden', message: /needs the admin role/ }, 'no provisioning');
  t.equal((await vera.api('GET', '/api/users')).status, 403, 'cannot list users');
  t.equal((await vera.api('POST', '/api/users', { username: 'mallory', password: 'mallory-password', role: 'admin' })).status, 403, 'cannot add users');

  const commands = await hub.api('GET', '/api/devices/lamp-1/commands');
  t.same((commands.body as { commands: unknown[] }).commands, [], 'nothing was sent');
});

t.test('an operator can command and change desired state but not provision or manage users; the audit log names them', async (t) => {
  const hub = await startTestHub(t);
  const lamp = await provisionDevice(t, hub, 'mqtt', 'lamp-1');
  await lamp.connect();
  await lamp.hello();
  await addUser(hub, 'otto', 'operator');
  const otto = await login(hub, 'otto');

  t.equal((await otto.api('POST', '/api/devices/lamp-1/commands', { name: 'identify' })).status, 202, 'commands');
  t.equal((await otto.api('PATCH', '/api/devices/lamp-1/state/desired', { state: { on: true } })).status, 200, 'changes desired state');
  t.equal((await otto.api('POST', '/api/devices', { id: 'x-1', kind: 'sensor' })).status, 403, 'no provisioning');
  t.equal((await otto.api('DELETE', '/api/devices/lamp-1')).status, 403, 'no deleting');
  t.equal((await otto.api('POST', '/api/devices/lamp-1/token')).status, 403, 'no token rotation');
  t.equal((await otto.api('GET', '/api/users')).status, 403, 'no users');

  const audit = (await hub.api('GET', '/api/audit?deviceId=lamp-1')).body as { entries: Array<{ actor: string; action: string }> };
  t.same(audit.entries.map((e) => [e.actor, e.action]).filter(([, a]) => a !== 'device.create'), [
    ['otto', 'state.desired'],
    ['otto', 'command.create'],
  ]);
});

t.test('the admin token stays a break-glass admin; without credentials, 401', async (t) => {
  const hub = await startTestHub(t);
  t.equal((await hub.api('GET', '/api/users')).status, 200, 'admin token manages users');
  const me = await hub.api('GET', '/api/auth/me');
  t.same(me.body, { user: 'admin', role: 'admin', via: 'admin-token', expiresAt: null });
  const anonymous = await call(hub, 'GET', '/api/devices', undefined, {});
  t.equal(anonymous.status, 401);
  t.match(anonymous.body, { error: 'unauthorized', message: /sign in/ });
  t.equal((await call(hub, 'GET', '/api/devices', undefined, { authorization: 'Bearer not-a-token-at-all' })).status, 401, 'bad bearer');
  t.equal((await call(hub, 'GET', '/metrics', undefined, {})).status, 401, 'metrics need a principal');
  t.equal((await call(hub, 'GET', '/healthz', undefined, {})).status, 200, 'health does not');
});

t.test('users: admins add and delete them; a deleted user is signed out', async (t) => {
  const hub = await startTestHub(t);
  await addUser(hub, 'ada', 'admin');
  const ada = await login(hub, 'ada');
  t.equal((await ada.api('POST', '/api/users', { username: 'bob', password: 'bob-password', role: 'viewer' })).status, 201);
  t.same((await ada.api('POST', '/api/users', { username: 'bob', password: 'bob-password', role: 'viewer' })).body, {
    error: 'conflict',
    code: 409,
    message: 'already exists: user "bob" already exists',
  });
  t.equal((await ada.api('POST', '/api/users', { username: 'carl', password: 'short', role: 'viewer' })).status, 400, 'password too short');
  t.equal((await ada.api('POST', '/api/users', { username: 'carl', password: 'carl-password', role: 'root' })).status, 400, 'no such role');
  const bob = await login(hub, 'bob');
  t.match((await ada.api('GET', '/api/users')).body, { users: [{ username: 'ada', role: 'admin' }, { username: 'bob', role: 'viewer' }] });
  t.equal((await ada.api('DELETE', '/api/users/bob')).status, 204);
  t.equal((await bob.api('GET', '/api/devices')).status, 401, 'their session ended with them');
  t.equal((await ada.api('DELETE', '/api/users/ada')).status, 409, 'not oneself');
  const audit = (await hub.api('GET', '/api/audit?actor=ada')).body as { entries: Array<{ action: string; outcome: string }> };
  t.same(
    audit.entries.map((e) => [e.action, e.outcome]),
    [
      ['user.delete', 'conflict'],
      ['user.delete', 'ok'],
      ['user.create', 'conflict'],
      ['user.create', 'ok'],
    ],
    'refusals with their code; malformed requests (400) not at all',
  );
});
