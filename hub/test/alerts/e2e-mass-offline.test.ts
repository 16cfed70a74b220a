/** Alerting end to end: 50 real devices dropping at once under an offline rule are one grouped, signed webhook. */
import t from 'tap';
import { startTestHub } from '../helpers/hub.js';
import { alerts, createRule, sensor, sleep } from './alert-fixtures.js';
import { createWebhook, signatureValid, startReceiver } from './notify-fixtures.js';

t.test('a mass offline of 50 devices is one firing webhook listing all 50', async (t) => {
  const hub = await startTestHub(t);
  const receiver = await startReceiver(t);
  const { secret } = await createWebhook(hub, receiver.url);
  const ids = Array.from({ length: 50 }, (_, i) => `gw-${String(i).padStart(2, '0')}`);
  const devices = [];
  for (const id of ids) devices.push(await sensor(t, hub, id, { kind: 'gateway' }));
  const rule = await createRule(hub, { name: 'gateway offline', severity: 'critical', scope: { type: 'kind', kind: 'gateway' }, condition: { type: 'offline' }, forSec: 1 });

  await Promise.all(devices.map((d) => d.close()));
  const [hook] = await receiver.waitFor(1, 10_000);
  // Long enough for a second (wrong) notification of the group to come.
  await sleep(2000);
  t.equal(receiver.requests.length, 1, 'one notification');
  t.ok(signatureValid(secret, hook!.body, hook!.headers['x-hub-signature-256']));
  const n = hook!.notification;
  t.same({ ruleId: n.ruleId, state: n.state, severity: n.severity }, { ruleId: rule.id, state: 'firing', severity: 'critical' });
  t.same(n.alerts.map((a) => a.deviceId).sort(), ids, 'lists all 50');
  t.equal((await alerts(hub, `?ruleId=${rule.id}&state=firing`)).length, 50);
});
