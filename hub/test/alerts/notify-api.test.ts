/**
 * /api/notifiers: admin only (an operator cannot create one, a viewer cannot
 * even list them), URLs checked, the secret answered once, creation and
 * deletion audited, and a test send that says how it went.
 */
import t from 'tap';
import type { AuditListResponse, NotifierListResponse, NotifierTestResponse } from '@iot-hub/protocol';
import { addUser, login } from '../helpers/accounts.js';
import { startTestHub } from '../helpers/hub.js';
import { createWebhook, signatureValid, startReceiver } from './notify-fixtures.js';

t.test('only admins manage or list notifiers', async (t) => {
  const hub = await startTestHub(t);
  await addUser(hub, 'otto', 'operator');
  await addUser(hub, 'vera', 'viewer');
  const otto = await login(hub, 'otto');
  const vera = await login(hub, 'vera');
  const created = await createWebhook(hub, 'http://127.0.0.1:9/hook');

  const byOtto = await otto.api('POST', '/api/notifiers', { type: 'webhook', name: 'mine', url: 'http://127.0.0.1:9/x' });
  t.same(byOtto.body, { error: 'forbidden', code: 403, message: 'POST /api/notifiers needs the admin role (otto is operator)' });
  t.equal((await otto.api('DELETE', `/api/notifiers/${created.id}`)).status, 403, 'operator cannot delete');
  t.equal((await otto.api('POST', `/api/notifiers/${created.id}/test`)).status, 403, 'operator cannot send a test');
  t.same((await vera.api('GET', '/api/notifiers')).body, { error: 'forbidden', code: 403, message: 'GET /api/notifiers needs the admin role (vera is viewer)' });
  t.equal((await vera.api('GET', `/api/notifiers/${created.id}/dead-letters`)).status, 403, 'viewer cannot read dead letters');
  const list = (await hub.api('GET', '/api/notifiers')).body as NotifierListResponse;
  t.same(list.notifiers.map((n) => n.id), [created.id], 'nothing was created by them');
});

t.test('URLs: http(s) only, never with credentials (the refusal echoes the URL without them)', async (t) => {
  const hub = await startTestHub(t);
  const post = (body: Record<string, unknown>) => hub.api('POST', '/api/notifiers', { type: 'webhook', name: 'x', ...body });
  t.same((await post({ url: 'https://bob:hunter2@hooks.example.com/a?b=c' })).body, {
    error: 'bad_request',
    code: 400,
    message: 'bad request: url: credentials in the URL are refused (they would be shown and logged); use https://hooks.example.com/a?b=c and the signing secret',
  });
  t.same((await post({ url: 'file:///etc/passwd' })).body, { error: 'bad_request', code: 400, message: 'bad request: url: scheme file: is not allowed, only http: and https:' });
  t.same((await post({ url: 'hooks.example.com/a' })).body, { error: 'bad_request', code: 400, message: 'bad request: url: not an absolute URL (http://host[:port]/path or https://…)' });
  t.equal((await post({ url: 'https://hooks.example.com/a', secret: 'short' })).status, 400, 'a short secret');
  t.equal((await post({ url: 'https://hooks.example.com/a', minSeverity: 'loud' })).status, 400, 'an unknown severity');
  t.equal((await post({ url: 'https://hooks.example.com/a', extra: 1 })).status, 400, 'an unknown field');
  t.same(((await hub.api('GET', '/api/notifiers')).body as NotifierListResponse).notifiers, [], 'none created');
});

t.test('create answers the secret once; GET never; create and delete are audited; a test send reports the outcome', async (t) => {
  const hub = await startTestHub(t);
  const receiver = await startReceiver(t, (n) => (n === 0 ? 200 : 500));
  const created = await createWebhook(hub, receiver.url, { minSeverity: 'warning' });
  t.match(created, { id: /^wh_[0-9a-f]{16}$/, type: 'webhook', name: 'ops', url: receiver.url, minSeverity: 'warning', delivered: 0, deadLettered: 0, retrying: 0, lastError: null });
  t.match(created.secret, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, generated');
  const listed = ((await hub.api('GET', '/api/notifiers')).body as NotifierListResponse).notifiers;
  const { secret, ...view } = created;
  t.same(listed, [view], 'the same view, without the secret');
  t.notOk(JSON.stringify(listed).includes(secret));

  const ok = (await hub.api('POST', `/api/notifiers/${created.id}/test`)).body as NotifierTestResponse;
  t.match(ok, { delivered: true, status: 200, error: null, notificationId: /^ntf_/ });
  const sent = receiver.requests[0]!;
  t.match(sent.notification, { id: ok.notificationId, ruleId: 'test', state: 'firing', alerts: [] });
  t.ok(signatureValid(created.secret, sent.body, sent.headers['x-hub-signature-256']), 'signed like any notification');
  const failed = (await hub.api('POST', `/api/notifiers/${created.id}/test`)).body as NotifierTestResponse;
  t.match(failed, { delivered: false, status: 500, error: 'HTTP 500' });
  t.equal(receiver.requests.length, 2, 'a test send is not retried');

  t.equal((await hub.api('DELETE', `/api/notifiers/${created.id}`)).status, 204);
  t.same((await hub.api('DELETE', `/api/notifiers/${created.id}`)).body, { error: 'not_found', code: 404, message: `not found: no notifier "${created.id}"` });
  t.equal((await hub.api('POST', `/api/notifiers/${created.id}/test`)).status, 404);
  const audit = (await hub.api('GET', '/api/audit')).body as AuditListResponse;
  t.same(
    audit.entries.filter((e) => e.action.startsWith('notifier.')).map((e) => [e.action, e.actor, e.details, e.outcome]),
    [
      ['notifier.delete', 'admin', { id: created.id }, 'not_found'],
      ['notifier.delete', 'admin', { id: created.id, name: 'ops' }, 'ok'],
      ['notifier.create', 'admin', { id: created.id, name: 'ops', origin: new URL(receiver.url).origin, minSeverity: 'warning' }, 'ok'],
    ],
  );
});
