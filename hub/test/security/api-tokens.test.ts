/** API tokens for scripts: shown once, work with their role, stop after delete. */
import t from 'tap';
import type { CreatedApiToken } from '@iot-hub/protocol';
import { addUser, call, login } from '../helpers/accounts.js';
import { startTestHub } from '../helpers/hub.js';

t.test('a token works with its role as a bearer and on the dashboard socket, and stops after delete', async (t) => {
  const hub = await startTestHub(t);
  await hub.provision('lamp-1', 'lamp');
  await addUser(hub, 'otto', 'operator');
  const otto = await login(hub, 'otto');

  t.match((await otto.api('POST', '/api/tokens', { name: 'cron', role: 'admin' })).body, { error: 'forbidden', message: /at most your role \(operator\), not admin/ }, 'not above the creator');
  const created = await otto.api('POST', '/api/tokens', { name: 'cron', role: 'viewer' });
  t.equal(created.status, 201);
  t.equal(created.headers.get('cache-control'), 'no-store');
  const token = created.body as CreatedApiToken;
  t.match(token, { id: /^tok_/, name: 'cron', role: 'viewer', owner: 'otto', lastUsedAt: null, token: /^[A-Za-z0-9_-]{43}$/ });

  const bearer = { authorization: `Bearer ${token.token}` };
  t.equal((await call(hub, 'GET', '/api/devices', undefined, bearer)).status, 200, 'reads');
  t.match((await call(hub, 'PATCH', '/api/devices/lamp-1/state/desired', { state: { on: true } }, bearer)).body, { error: 'forbidden', message: /needs the operator role \(token:cron is viewer\)/ }, 'a viewer token cannot change state');
  t.match((await call(hub, 'GET', '/api/auth/me', undefined, bearer)).body, { user: 'token:cron', role: 'viewer', via: 'api-token', expiresAt: null });

  const listed = (await otto.api('GET', '/api/tokens')).body as { tokens: Array<Record<string, unknown>> };
  t.equal(listed.tokens.length, 1);
  t.notOk('token' in listed.tokens[0]!, 'the secret is never listed');
  t.match(listed.tokens[0], { id: token.id, lastUsedAt: Number });

  // Another user does not see or delete it; an admin does.
  await addUser(hub, 'olga', 'operator');
  const olga = await login(hub, 'olga');
  t.same((await olga.api('GET', '/api/tokens')).body, { tokens: [] });
  t.equal((await olga.api('DELETE', `/api/tokens/${token.id}`)).status, 404);
  t.equal(((await hub.api('GET', '/api/tokens?all=true')).body as { tokens: unknown[] }).tokens.length, 1, 'admin sees all');

  t.equal((await otto.api('DELETE', `/api/tokens/${token.id}`)).status, 204);
  t.equal((await call(hub, 'GET', '/api/devices', undefined, bearer)).status, 401, 'stops at once');
});

t.test('an operator token commands and is named token:<name> in the audit log', async (t) => {
  const hub = await startTestHub(t);
  await hub.provision('lamp-1', 'lamp');
  const created = await hub.api('POST', '/api/tokens', { name: 'ops-script', role: 'operator' });
  t.match(created.body, { owner: 'admin', role: 'operator' }, 'the admin token can create tokens');
  const bearer = { authorization: `Bearer ${(created.body as CreatedApiToken).token}` };
  t.equal((await call(hub, 'PATCH', '/api/devices/lamp-1/state/desired', { state: { on: true } }, bearer)).status, 200);
  t.equal((await call(hub, 'POST', '/api/devices', { id: 'x-1', kind: 'sensor' }, bearer)).status, 403, 'not an admin');
  const audit = (await hub.api('GET', '/api/audit?action=state.desired')).body as { entries: Array<{ actor: string }> };
  t.same(audit.entries.map((e) => e.actor), ['token:ops-script']);
});
