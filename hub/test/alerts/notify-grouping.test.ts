/**
 * Which transitions are notified, and how they are grouped: a mass firing of
 * one rule is one signed webhook listing every alert (split past 1,000);
 * pending, acknowledged and silenced alerts are not notified, nor is the
 * resolution of an alert whose firing was not; minSeverity filters.
 */
import t from 'tap';
import { startTestHub } from '../helpers/hub.js';
import { alertView, createWebhook, fire, signatureValid, sleep, startReceiver, transition } from './notify-fixtures.js';

const devices = (n: number, prefix = 'dev'): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

t.test('1,000 alerts of one rule firing at once are one signed notification listing all; 1,500 of another are two', async (t) => {
  const hub = await startTestHub(t);
  const receiver = await startReceiver(t);
  const { secret } = await createWebhook(hub, receiver.url);

  const offline = fire(hub, 'rule-offline', devices(1000));
  fire(hub, 'rule-hot', devices(1500, 'sensor'), { severity: 'warning' });
  await receiver.waitFor(3);
  // Long enough for a second (wrong) notification of either group to come.
  await sleep(1500);
  t.equal(receiver.requests.length, 3, 'three notifications in all');

  const offlineHook = receiver.requests.filter((r) => r.notification.ruleId === 'rule-offline');
  t.equal(offlineHook.length, 1, 'rule-offline: one notification');
  const n = offlineHook[0]!.notification;
  t.same({ ruleName: n.ruleName, severity: n.severity, state: n.state, count: n.alerts.length }, { ruleName: 'rule rule-offline', severity: 'critical', state: 'firing', count: 1000 });
  t.same(
    n.alerts.map((a) => a.deviceId).sort(),
    offline.map((a) => a.deviceId).sort(),
    'lists every device',
  );
  t.same(n.alerts[0], { id: offline[0]!.id, deviceId: 'dev-0', value: 31.5, summary: 'dev-0 is too warm', startedAt: offline[0]!.startedAt, firedAt: offline[0]!.firedAt, resolvedAt: null });
  t.match(n.id, /^ntf_[0-9a-f]{32}$/);

  const hot = receiver.requests.filter((r) => r.notification.ruleId === 'rule-hot');
  t.same(hot.map((r) => r.notification.alerts.length).sort((a, b) => a - b), [500, 1000], 'split at 1,000 alerts');
  t.same(new Set(hot.flatMap((r) => r.notification.alerts.map((a) => a.deviceId))).size, 1500, 'no alert twice, none missing');

  for (const r of receiver.requests) {
    t.equal(r.headers['content-type'], 'application/json');
    t.equal(r.headers['x-hub-notification-id'], r.notification.id);
    t.ok(signatureValid(secret, r.body, r.headers['x-hub-signature-256']), 'the receiver verifies the signature');
    t.notOk(signatureValid('another-secret-0123456789', r.body, r.headers['x-hub-signature-256']), 'which another secret does not make');
  }
});

t.test('transitions within the group interval after the first notification come as one more', async (t) => {
  const hub = await startTestHub(t);
  const receiver = await startReceiver(t);
  await createWebhook(hub, receiver.url);
  fire(hub, 'rule-a', ['d-1']);
  await receiver.waitFor(1);
  fire(hub, 'rule-a', ['d-2']);
  fire(hub, 'rule-a', ['d-3']);
  await sleep(1000);
  t.equal(receiver.requests.length, 1, 'held back until the interval ends');
  const all = await receiver.waitFor(2, 8000);
  t.same(all.map((r) => r.notification.alerts.map((a) => a.deviceId)), [['d-1'], ['d-2', 'd-3']]);
});

t.test('pending, acknowledged and silenced alerts are not notified; a resolution only after a notified firing', async (t) => {
  const hub = await startTestHub(t);
  const receiver = await startReceiver(t);
  await createWebhook(hub, receiver.url);

  transition(hub, alertView({ ruleId: 'r', deviceId: 'pending-1', state: 'pending' }), null);
  transition(hub, alertView({ ruleId: 'r', deviceId: 'silenced-1', state: 'firing', silencedUntil: Date.now() + 60_000 }), 'pending');
  // A silence that has ended mutes nothing.
  const expiredSilence = alertView({ ruleId: 'r', deviceId: 'was-silenced', state: 'firing', silencedUntil: Date.now() - 1000 });
  transition(hub, expiredSilence, 'pending');
  const loud = alertView({ ruleId: 'r', deviceId: 'loud-1', state: 'firing' });
  transition(hub, loud, 'pending');
  const firing = await receiver.waitFor(1);
  t.same(firing[0]!.notification.alerts.map((a) => a.deviceId), ['was-silenced', 'loud-1'], 'only the unsilenced firing alerts');

  // Acknowledging is emitted with the state unchanged: not a transition to notify.
  transition(hub, { ...loud, acknowledged: { by: 'ada', at: Date.now(), note: 'on it' } }, 'firing');
  // Resolved: the silenced one was never notified, so neither is its end; a pending one that ends neither.
  transition(hub, alertView({ ruleId: 'r', deviceId: 'silenced-1', state: 'resolved' }), 'firing');
  transition(hub, alertView({ ruleId: 'r', deviceId: 'pending-1', state: 'resolved' }), 'pending');
  transition(hub, alertView({ ruleId: 'r', deviceId: 'loud-1', state: 'resolved' }), 'firing');
  const resolved = await receiver.waitFor(2);
  await sleep(800);
  t.equal(receiver.requests.length, 2, 'one firing and one resolved notification, nothing else');
  t.same(
    { state: resolved[1]!.notification.state, devices: resolved[1]!.notification.alerts.map((a) => a.deviceId) },
    { state: 'resolved', devices: ['loud-1'] },
  );
});

t.test('minSeverity: a critical-only notifier hears critical alerts only; the default (info) hears all', async (t) => {
  const hub = await startTestHub(t);
  const pager = await startReceiver(t);
  const chat = await startReceiver(t);
  await createWebhook(hub, pager.url, { minSeverity: 'critical' });
  const all = await createWebhook(hub, chat.url);
  t.equal(all.minSeverity, 'info');

  fire(hub, 'freezer', ['f-1'], { severity: 'critical' });
  fire(hub, 'battery', ['b-1'], { severity: 'warning' });
  fire(hub, 'info', ['i-1'], { severity: 'info' });
  await chat.waitFor(3);
  await sleep(800);
  t.same(pager.requests.map((r) => r.notification.ruleId), ['freezer']);
  t.same(chat.requests.map((r) => r.notification.ruleId).sort(), ['battery', 'freezer', 'info']);
});
