/**
 * Every refused control action leaves exactly one audit entry with its
 * error code (docs/api.md, "Audit log"): command creates (422, 409, 410, 429),
 * cancels (404, 409 command_finished), desired-state changes, device,
 * user and token management. Malformed requests (400) and callers without
 * the role (403) leave none: a viewer must not be able to write the log.
 */
import t, { type Test } from 'tap';
import type { AuditEntry, AuditListResponse, CommandView } from '@iot-hub/protocol';
import { addUser, login } from '../../helpers/accounts.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { provisionDevice } from '../../commands/test-device.js';

type Brief = Pick<AuditEntry, 'actor' | 'action' | 'deviceId' | 'commandId' | 'details' | 'outcome'>;

async function entries(hub: TestHub): Promise<AuditEntry[]> {
  return ((await hub.api('GET', '/api/audit?limit=1000')).body as AuditListResponse).entries;
}

/** Runs `act`, then checks that it added exactly `expected` to the audit log. */
async function exactlyOne(t: Test, hub: TestHub, what: string, act: () => Promise<{ status: number; body: unknown }>, status: number, expected: Brief | null): Promise<void> {
  const before = (await entries(hub)).length;
  const res = await act();
  t.equal(res.status, status, `${what}: ${status}`);
  const after = await entries(hub);
  const added = after.slice(0, after.length - before).map((e): Brief => ({ actor: e.actor, action: e.action, deviceId: e.deviceId, commandId: e.commandId, details: e.details, outcome: e.outcome }));
  t.same(added, expected === null ? [] : [expected], `${what}: ${expected === null ? 'no entry' : 'exactly one entry'}`);
}

t.test('refused command creates and cancels are audited once each, with the error code', async (t) => {
  const hub = await startTestHub(t, { maxPendingCommands: 1 });
  const device = await provisionDevice(t, hub, 'mqtt', 'heater');
  await device.connect();
  await device.hello();
  await addUser(hub, 'otto', 'operator');
  const otto = await login(hub, 'otto');
  const post = (body: unknown, headers: Record<string, string> = {}) => otto.api('POST', '/api/devices/heater/commands', body, headers);
  const refused = (outcome: string, details: Record<string, unknown>, deviceId: string | null = 'heater'): Brief => ({ actor: 'otto', action: 'command.create', deviceId, commandId: null, details, outcome });

  await exactlyOne(t, hub, 'unknown command', () => post({ name: 'launch' }), 422, refused('unknown_command', { name: 'launch', params: {} }));
  await exactlyOne(t, hub, 'bad params', () => post({ name: 'boost', params: { minutes: 1 } }), 422, refused('invalid_params', { name: 'boost', params: { minutes: 1 } }));
  await exactlyOne(t, hub, 'expired', () => post({ name: 'identify', expiresAt: 1 }), 410, refused('command_expired', { name: 'identify', params: {} }));
  await exactlyOne(t, hub, 'unknown device', () => otto.api('POST', '/api/devices/ghost/commands', { name: 'identify' }), 404, refused('not_found', { name: 'identify', params: {} }, 'ghost'));

  const first = await post({ name: 'identify' }, { 'idempotency-key': 'k1' });
  t.equal(first.status, 202);
  const command = first.body as CommandView;
  await exactlyOne(t, hub, 'queue full', () => post({ name: 'boost', params: { minutes: 10 } }), 429, refused('queue_full', { name: 'boost', params: { minutes: 10 } }));
  await exactlyOne(t, hub, 'idempotency conflict', () => post({ name: 'boost', params: { minutes: 10 } }, { 'idempotency-key': 'k1' }), 409, refused('idempotency_conflict', { name: 'boost', params: { minutes: 10 } }));
  await exactlyOne(t, hub, 'idempotent retry: not a new action', () => post({ name: 'identify' }, { 'idempotency-key': 'k1' }), 200, null);
  await exactlyOne(t, hub, 'malformed: not an action', () => post({ name: 5 }), 400, null);

  await exactlyOne(t, hub, 'cancel', () => otto.api('POST', `/api/commands/${command.id}/cancel`), 200, {
    actor: 'otto',
    action: 'command.cancel',
    deviceId: 'heater',
    commandId: command.id,
    details: { name: 'identify' },
    outcome: 'ok',
  });
  await exactlyOne(t, hub, 'cancel a finished command', () => otto.api('POST', `/api/commands/${command.id}/cancel`), 409, {
    actor: 'otto',
    action: 'command.cancel',
    deviceId: 'heater',
    commandId: command.id,
    details: { name: 'identify' },
    outcome: 'command_finished',
  });
  await exactlyOne(t, hub, 'cancel an unknown command', () => otto.api('POST', '/api/commands/cmd_nothing/cancel'), 404, {
    actor: 'otto',
    action: 'command.cancel',
    deviceId: null,
    commandId: null,
    details: { id: 'cmd_nothing' },
    outcome: 'not_found',
  });
  await exactlyOne(t, hub, 'desired state on an unknown device', () => otto.api('PATCH', '/api/devices/ghost/state/desired', { state: { on: true } }), 404, {
    actor: 'otto',
    action: 'state.desired',
    deviceId: 'ghost',
    commandId: null,
    details: { state: { on: true }, version: 0 },
    outcome: 'not_found',
  });

  await addUser(hub, 'vera', 'viewer');
  const vera = await login(hub, 'vera');
  await exactlyOne(t, hub, 'a viewer without the role', () => vera.api('POST', '/api/devices/heater/commands', { name: 'identify' }), 403, null);
});

t.test('refused device, user and token management is audited once each; no password is recorded', async (t) => {
  const hub = await startTestHub(t);
  await addUser(hub, 'ada', 'admin');
  const ada = await login(hub, 'ada');
  const entry = (action: AuditEntry['action'], deviceId: string | null, details: Record<string, unknown>, outcome: string): Brief => ({ actor: 'ada', action, deviceId, commandId: null, details, outcome });

  await exactlyOne(t, hub, 'rotate an unknown device token', () => ada.api('POST', '/api/devices/ghost/token'), 404, entry('device.token.rotate', 'ghost', {}, 'not_found'));
  await exactlyOne(t, hub, 'revoke an unknown device token', () => ada.api('POST', '/api/devices/ghost/revoke'), 404, entry('device.token.revoke', 'ghost', {}, 'not_found'));
  await exactlyOne(t, hub, 'delete an unknown device', () => ada.api('DELETE', '/api/devices/ghost'), 404, entry('device.delete', 'ghost', {}, 'not_found'));
  await exactlyOne(t, hub, 'add an existing user', () => ada.api('POST', '/api/users', { username: 'ada', password: 'secret-password-123', role: 'viewer' }), 409, entry('user.create', null, { username: 'ada', role: 'viewer' }, 'conflict'));
  await exactlyOne(t, hub, 'delete an unknown user', () => ada.api('DELETE', '/api/users/nobody'), 404, entry('user.delete', null, { username: 'nobody' }, 'not_found'));
  await exactlyOne(t, hub, 'delete oneself', () => ada.api('DELETE', '/api/users/ada'), 409, entry('user.delete', null, { username: 'ada' }, 'conflict'));
  await exactlyOne(t, hub, 'delete an unknown token', () => ada.api('DELETE', '/api/tokens/tok_nothing'), 404, entry('token.delete', null, { id: 'tok_nothing' }, 'not_found'));

  await addUser(hub, 'otto', 'operator');
  const otto = await login(hub, 'otto');
  await exactlyOne(t, hub, 'a token above one\'s role', () => otto.api('POST', '/api/tokens', { name: 'escalate', role: 'admin' }), 403, {
    actor: 'otto',
    action: 'token.create',
    deviceId: null,
    commandId: null,
    details: { name: 'escalate', role: 'admin' },
    outcome: 'forbidden',
  });
  t.notMatch(JSON.stringify(await entries(hub)), /secret-password-123/, 'the refused user.create kept no password');
});
