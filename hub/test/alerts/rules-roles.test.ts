/** Built-in rules, and who may read and write rules, alerts and silences. */
import t from 'tap';
import type { AlertRule, RuleWriteResponse } from '@iot-hub/protocol';
import { addUser, login } from '../helpers/accounts.js';
import { startTestHub } from '../helpers/hub.js';
import { sensor } from './alert-fixtures.js';

t.test('the built-in rules are there, disabled, and can be switched on', async (t) => {
  const hub = await startTestHub(t);
  const rules = ((await hub.api('GET', '/api/rules')).body as { rules: AlertRule[] }).rules;
  t.same(rules.map((r) => [r.id, r.builtin, r.enabled, r.condition.type, r.severity]).sort(), [
    ['battery-low', 'battery-low', false, 'below', 'warning'],
    ['device-errors', 'device-errors', false, 'errors', 'warning'],
    ['device-offline', 'device-offline', false, 'offline', 'critical'],
  ]);
  const battery = rules.find((r) => r.id === 'battery-low') as AlertRule;
  t.same(battery.condition, { type: 'below', metric: 'battery', value: 15, clear: 20 });
  const { id: _id, builtin: _b, createdAt: _c, updatedAt: _u, version: _v, ...input } = battery;
  const on = await hub.api('PUT', '/api/rules/battery-low', { ...input, enabled: true });
  t.equal(on.status, 200);
  t.match((on.body as RuleWriteResponse).rule, { enabled: true, builtin: 'battery-low', version: 2 });
  const again = await hub.restart();
  const after = ((await again.api('GET', '/api/rules')).body as { rules: AlertRule[] }).rules;
  t.equal(after.length, 3, 'a restart adds no second copy');
  t.equal(after.find((r) => r.id === 'battery-low')?.enabled, true, 'and keeps the switch');
});

t.test('viewers read rules, alerts and silences; operators write them', async (t) => {
  const hub = await startTestHub(t);
  await sensor(t, hub, 'fridge');
  await addUser(hub, 'vera', 'viewer');
  await addUser(hub, 'otto', 'operator');
  const viewer = await login(hub, 'vera');
  const operator = await login(hub, 'otto');
  const body = { name: 'r', severity: 'info', scope: { type: 'device', deviceId: 'fridge' }, condition: { type: 'above', metric: 'temp', value: 5 } };
  const denied = await viewer.api('POST', '/api/rules', body);
  t.equal(denied.status, 403);
  t.match(denied.body, { error: 'forbidden', message: /POST \/api\/rules needs the operator role/ });
  t.equal((await viewer.api('POST', '/api/silences', { deviceId: 'fridge', until: Date.now() + 60_000 })).status, 403);
  for (const path of ['/api/rules', '/api/alerts', '/api/alerts/history', '/api/silences']) t.equal((await viewer.api('GET', path)).status, 200, `viewer reads ${path}`);
  const created = await operator.api('POST', '/api/rules', body);
  t.equal(created.status, 201);
  const id = (created.body as RuleWriteResponse).rule.id;
  t.equal((await viewer.api('DELETE', `/api/rules/${id}`)).status, 403);
  t.equal((await operator.api('DELETE', `/api/rules/${id}`)).status, 204);
});
