/** The rules API: validation naming the field, checks against what devices declare, warnings, versions, audit. */
import t from 'tap';
import type { AlertRule, AuditListResponse, RuleWriteResponse } from '@iot-hub/protocol';
import { startTestHub } from '../helpers/hub.js';
import { createRule, sensor } from './alert-fixtures.js';

t.test('a rule is checked field by field and against what devices declare', async (t) => {
  const hub = await startTestHub(t);
  await sensor(t, hub, 'fridge', { kind: 'fridge', metrics: { temp: { type: 'number' } }, commands: { defrost: { params: { minutes: { type: 'integer', min: 1, max: 60, required: true } } } } });
  const base = { name: 'r', severity: 'warning', scope: { type: 'device', deviceId: 'fridge' }, condition: { type: 'above', metric: 'temp', value: 5 } };
  const refused = async (body: unknown, status: number, error: string, message: RegExp) => {
    const res = await hub.api('POST', '/api/rules', body);
    t.equal(res.status, status, JSON.stringify(res.body));
    t.match(res.body, { error, message });
  };
  await refused({ ...base, severity: 'urgent' }, 400, 'bad_request', /^bad request: severity must be one of critical, warning, info, got "urgent"$/);
  await refused({ ...base, name: 'x'.repeat(101) }, 400, 'bad_request', /name must be at most 100 characters, got 101/);
  await refused({ ...base, forSec: 7 * 24 * 3600 + 1 }, 400, 'bad_request', /forSec must be within 0\.\.604800, got 604801/);
  await refused({ ...base, condition: { type: 'above', metric: 'temp', value: 5, clear: 6 } }, 400, 'bad_request', /condition\.clear must be at most condition\.value \(5\) for above, got 6/);
  await refused({ ...base, condition: { type: 'below', metric: 'temp', value: 5, clear: 4 } }, 400, 'bad_request', /condition\.clear must be at least condition\.value \(5\) for below, got 4/);
  await refused({ ...base, condition: { type: 'outside', metric: 'temp', low: 5, high: 5 } }, 400, 'bad_request', /condition\.high must be above condition\.low \(5\), got 5/);
  await refused({ ...base, condition: { type: 'no_data', metric: 'temp' } }, 400, 'bad_request', /forSec must be above 0 for a no_data condition/);
  await refused({ ...base, nmae: 'typo' }, 400, 'bad_request', /the rule has an unknown field "nmae"/);
  await refused({ ...base, actions: Array.from({ length: 6 }, () => ({ type: 'command', deviceId: 'fridge', name: 'defrost' })) }, 400, 'bad_request', /actions may hold at most 5 actions, got 6/);
  await refused({ ...base, condition: { type: 'above', metric: 'humidity', value: 5 } }, 422, 'unknown_metric', /condition\.metric: device "fridge" declares no metric "humidity"; it has temp/);
  await refused({ ...base, scope: { type: 'device', deviceId: 'nope' } }, 404, 'not_found', /scope\.deviceId: no device "nope"/);
  await refused({ ...base, actions: [{ type: 'command', deviceId: 'fridge', name: 'explode' }] }, 422, 'unknown_command', /actions\[0\]\.name: "explode": device "fridge" declares defrost/);
  await refused({ ...base, actions: [{ type: 'command', deviceId: 'fridge', name: 'defrost', params: { minutes: 99 } }] }, 422, 'invalid_params', /actions\[0\]\.params: /);
  t.same(((await hub.api('GET', '/api/rules')).body as { rules: AlertRule[] }).rules.filter((r) => r.builtin === null), [], 'nothing refused was stored');

  const kindRule = await hub.api('POST', '/api/rules', { ...base, scope: { type: 'kind', kind: 'fridge' }, condition: { type: 'above', metric: 'humidity', value: 80 } });
  t.equal(kindRule.status, 201, 'a kind scope may name a metric nobody declares yet');
  t.same((kindRule.body as RuleWriteResponse).warnings, ['condition.metric: none of the 1 devices in scope (any device of kind "fridge") declares metric "humidity"']);
  const emptyKind = await hub.api('POST', '/api/rules', { ...base, scope: { type: 'kind', kind: 'oven' } });
  t.same((emptyKind.body as RuleWriteResponse).warnings, ['no device is in scope yet (any device of kind "oven"): the rule applies to devices as they come']);
  const fine = await hub.api('POST', '/api/rules', base);
  t.equal(fine.status, 201);
  t.same((fine.body as RuleWriteResponse).warnings, []);
  t.match((fine.body as RuleWriteResponse).rule, { name: 'r', description: '', enabled: true, forSec: 0, minFiringSec: 0, actions: [], actionIntervalSec: 60, builtin: null, version: 1 });
});

t.test('PUT replaces with a new version; a stale ifVersion is 409; DELETE removes; all audited', async (t) => {
  const hub = await startTestHub(t);
  await sensor(t, hub, 'fridge');
  const rule = await createRule(hub, { scope: { type: 'device', deviceId: 'fridge' }, condition: { type: 'above', metric: 'temp', value: 5 } });
  const input = { name: 'renamed', severity: 'critical', scope: rule.scope, condition: rule.condition };
  const put = await hub.api('PUT', `/api/rules/${rule.id}`, { ...input, ifVersion: 1 });
  t.equal(put.status, 200);
  t.match((put.body as RuleWriteResponse).rule, { id: rule.id, name: 'renamed', severity: 'critical', version: 2, createdAt: rule.createdAt });
  const stale = await hub.api('PUT', `/api/rules/${rule.id}`, { ...input, ifVersion: 1 });
  t.equal(stale.status, 409);
  t.match(stale.body, { error: 'version_conflict', message: /is at version 2, not 1/ });
  t.equal((await hub.api('DELETE', `/api/rules/${rule.id}`)).status, 204);
  t.equal((await hub.api('GET', `/api/rules/${rule.id}`)).status, 404);
  t.equal((await hub.api('DELETE', `/api/rules/${rule.id}`)).status, 404);
  const audit = (await hub.api('GET', '/api/audit?actor=admin')).body as AuditListResponse;
  t.same(audit.entries.filter((e) => e.action.startsWith('rule.')).map((e) => [e.action, e.details.ruleId]), [['rule.delete', rule.id], ['rule.update', rule.id], ['rule.create', rule.id]]);
});
