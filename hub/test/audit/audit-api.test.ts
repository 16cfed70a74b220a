/**
 * The audit log end to end: provisioning, deleting and desired-state changes
 * through the API are recorded with the caller and outcome, and read back
 * with GET /api/audit (filters, pages, validation, restarts).
 */
import t from 'tap';
import type { AuditEntry, AuditListResponse } from '@iot-hub/protocol';
import { startTestHub, type TestHub } from '../helpers/hub.js';

async function audit(hub: TestHub, query = ''): Promise<AuditListResponse> {
  const res = await hub.api('GET', `/api/audit${query}`);
  if (res.status !== 200) throw new Error(`GET /api/audit${query}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as AuditListResponse;
}

/** The parts of an entry that do not depend on the clock. */
function brief(e: AuditEntry) {
  return { actor: e.actor, action: e.action, deviceId: e.deviceId, commandId: e.commandId, details: e.details, outcome: e.outcome };
}

t.test('device.create, state.desired and device.delete are recorded with actor, details and outcome', async (t) => {
  const hub = await startTestHub(t);
  const before = Date.now();
  await hub.provision('lamp', 'light');
  t.equal((await hub.api('POST', '/api/devices', { id: 'lamp', kind: 'light', name: 'Again' })).status, 409);
  t.equal((await hub.api('PATCH', '/api/devices/lamp/state/desired', { state: { on: true, level: 40 } })).status, 200);
  t.equal((await hub.api('PATCH', '/api/devices/lamp/state/desired', { state: { on: false }, ifVersion: 0 })).status, 409);
  t.equal((await hub.api('PATCH', '/api/devices/lamp/state/desired', { state: { level: null }, ifVersion: 1 })).status, 200);
  t.equal((await hub.api('PATCH', '/api/devices/lamp/state/desired', { state: { 'bad key': 1 } })).status, 400);
  t.equal((await hub.api('DELETE', '/api/devices/lamp')).status, 204);
  t.equal((await hub.api('DELETE', '/api/devices/lamp')).status, 404);

  const { entries, next } = await audit(hub);
  t.equal(next, null);
  t.same(entries.map(brief), [
    { actor: 'admin', action: 'device.delete', deviceId: 'lamp', commandId: null, details: {}, outcome: 'not_found' },
    { actor: 'admin', action: 'device.delete', deviceId: 'lamp', commandId: null, details: { kind: 'light', name: 'lamp' }, outcome: 'ok' },
    { actor: 'admin', action: 'state.desired', deviceId: 'lamp', commandId: null, details: { state: { level: null }, ifVersion: 1, version: 2 }, outcome: 'ok' },
    { actor: 'admin', action: 'state.desired', deviceId: 'lamp', commandId: null, details: { state: { on: false }, ifVersion: 0, version: 1 }, outcome: 'version_conflict' },
    { actor: 'admin', action: 'state.desired', deviceId: 'lamp', commandId: null, details: { state: { on: true, level: 40 }, version: 1 }, outcome: 'ok' },
    { actor: 'admin', action: 'device.create', deviceId: 'lamp', commandId: null, details: { kind: 'light', name: 'Again' }, outcome: 'conflict' },
    { actor: 'admin', action: 'device.create', deviceId: 'lamp', commandId: null, details: { kind: 'light' }, outcome: 'ok' },
  ], 'a malformed request (400) is not an action and is not recorded');
  t.ok(entries.every((e, i) => e.ts >= before && e.ts <= Date.now() && (i === 0 || e.id < (entries[i - 1]?.id ?? 0))), 'times are the hub clock; ids fall newest first');
});

t.test('filters and pages over HTTP', async (t) => {
  const hub = await startTestHub(t);
  for (const id of ['a', 'b', 'c']) await hub.provision(id);
  for (let i = 0; i < 5; i += 1) await hub.api('PATCH', '/api/devices/b/state/desired', { state: { n: i } });
  const middle = Date.now();
  await hub.api('DELETE', '/api/devices/c');

  t.same((await audit(hub, '?deviceId=b&action=state.desired')).entries.map((e) => e.details.version), [5, 4, 3, 2, 1]);
  t.same((await audit(hub, '?action=device.create')).entries.map((e) => e.deviceId), ['c', 'b', 'a']);
  t.same((await audit(hub, `?from=${new Date(middle).toISOString()}`)).entries.map((e) => e.action), ['device.delete']);
  t.same((await audit(hub, `?to=${middle}&actor=admin&limit=1`)).entries.map((e) => [e.action, e.details.version]), [['state.desired', 5]]);
  t.same((await audit(hub, '?actor=nobody')).entries, []);

  const ids: number[] = [];
  let page = await audit(hub, '?limit=3');
  ids.push(...page.entries.map((e) => e.id));
  while (page.next !== null) {
    page = await audit(hub, `?limit=3&before=${encodeURIComponent(page.next)}`);
    ids.push(...page.entries.map((e) => e.id));
  }
  t.same(ids, [9, 8, 7, 6, 5, 4, 3, 2, 1], 'every entry once over three pages');
});

t.test('bad queries get 400 with a clear message; the log needs the admin token', async (t) => {
  const hub = await startTestHub(t);
  const cases: [string, string][] = [
    ['?action=device.explode', 'bad request: action must be one of command.create, command.cancel, state.desired, device.create, device.delete, device.update, device.token.rotate, device.token.revoke, device.probe, user.create, user.delete, token.create, token.delete, rule.create, rule.update, rule.delete, alert.ack, silence.create, silence.delete, notifier.create, notifier.delete, got "device.explode"'],
    ['?from=yesterday', 'bad request: from must be epoch milliseconds or an ISO 8601 date, got "yesterday"'],
    ['?to=2026-13-45T99:00:00Z', 'bad request: to must be epoch milliseconds or an ISO 8601 date, got "2026-13-45T99:00:00Z"'],
    ['?from=2000&to=1000', 'bad request: from (2000) is after to (1000)'],
    ['?limit=0', 'bad request: limit must be an integer 1..1000, got "0"'],
    ['?limit=1001', 'bad request: limit must be an integer 1..1000, got "1001"'],
    ['?limit=ten', 'bad request: limit must be an integer 1..1000, got "ten"'],
    ['?before=12', 'bad request: before must be the "next" of a previous page, got "12"'],
    ['?devcieId=a', 'bad request: unknown query parameter "devcieId"; use deviceId, actor, action, from, to, limit, before'],
    ['?action=device.create&action=device.delete', 'bad request: action must be given once'],
  ];
  for (const [query, message] of cases) {
    const res = await hub.api('GET', `/api/audit${query}`);
    t.equal(res.status, 400, query);
    t.same(res.body, { error: 'bad_request', code: 400, message }, query);
  }
  const anonymous = await fetch(`${hub.httpUrl}/api/audit`);
  t.equal(anonymous.status, 401);
});

t.test('the audit log survives a restart', async (t) => {
  const first = await startTestHub(t);
  await first.provision('kept');
  const before = (await audit(first)).entries;
  t.equal(before.length, 1);
  const second = await first.restart();
  t.same((await audit(second)).entries, before);
});
