/**
 * Alerting end to end: a real device's readings, the rule engine, the
 * notifier and a real local HTTP receiver that verifies each signature.
 */
import t from 'tap';
import type { AlertNotification } from '@iot-hub/protocol';
import { startTestHub } from '../helpers/hub.js';
import { createRule, sensor, sleep } from './alert-fixtures.js';
import { createWebhook, signatureValid, startReceiver, type ReceivedRequest } from './notify-fixtures.js';

const of = (ruleId: string, state: AlertNotification['state']) => (r: ReceivedRequest): boolean => r.notification.ruleId === ruleId && r.notification.state === state;

t.test('a reading above the threshold for forSec is one signed firing webhook; a clearing reading one resolved webhook', async (t) => {
  const hub = await startTestHub(t);
  const receiver = await startReceiver(t);
  const { secret } = await createWebhook(hub, receiver.url);
  const dev = await sensor(t, hub, 'freezer-1', { kind: 'freezer' });
  const rule = await createRule(hub, { name: 'Freezer warm', severity: 'critical', description: '{device} at {value} (limit {threshold})', scope: { type: 'device', deviceId: dev.id }, condition: { type: 'above', metric: 'temp', value: -15, clear: -17 }, forSec: 1 });

  await dev.read({ temp: -20 });
  const crossedAt = Date.now();
  await dev.read({ temp: -8.5 });
  await sleep(700);
  t.equal(receiver.requests.length, 0, 'nothing before forSec has passed');
  const [fired] = await receiver.waitFor(1, 5000);
  t.ok(Date.now() - crossedAt >= 1000, 'not before forSec');
  t.ok(signatureValid(secret, fired!.body, fired!.headers['x-hub-signature-256']), 'signature verified over the raw body');
  const n = fired!.notification;
  t.same({ ruleId: n.ruleId, ruleName: n.ruleName, severity: n.severity, state: n.state }, { ruleId: rule.id, ruleName: 'Freezer warm', severity: 'critical', state: 'firing' });
  t.equal(n.alerts.length, 1);
  t.same({ deviceId: n.alerts[0]!.deviceId, value: n.alerts[0]!.value, summary: n.alerts[0]!.summary, resolvedAt: n.alerts[0]!.resolvedAt }, { deviceId: 'freezer-1', value: -8.5, summary: 'freezer-1 at -8.5 (limit -15)', resolvedAt: null });
  t.ok(n.alerts[0]!.firedAt! - n.alerts[0]!.startedAt >= 1000, 'fired forSec after the condition began');

  await dev.read({ temp: -16 });
  await sleep(700);
  t.equal(receiver.requests.length, 1, 'between value and clear it keeps firing: nothing more');
  await dev.read({ temp: -18 });
  const [resolved] = await receiver.waitFor(1, 5000, of(rule.id, 'resolved'));
  t.ok(signatureValid(secret, resolved!.body, resolved!.headers['x-hub-signature-256']));
  t.same(resolved!.notification.alerts.map((a) => [a.id, a.deviceId, a.value, a.resolvedAt !== null]), [[n.alerts[0]!.id, 'freezer-1', -18, true]]);
  await sleep(1000);
  t.same(receiver.requests.map((r) => r.notification.state), ['firing', 'resolved'], 'exactly one of each');
});

t.test('rules by label and by room fire only for devices in scope; re-labelling and moving a device moves it in and out', async (t) => {
  const hub = await startTestHub(t);
  const receiver = await startReceiver(t);
  const { secret } = await createWebhook(hub, receiver.url);
  const a = await sensor(t, hub, 'a');
  const b = await sensor(t, hub, 'b');
  const c = await sensor(t, hub, 'c');
  const patch = async (id: string, body: Record<string, unknown>): Promise<void> => {
    const res = await hub.api('PATCH', `/api/devices/${id}`, body);
    t.equal(res.status, 200, `PATCH ${id} ${JSON.stringify(body)}`);
  };
  await patch('a', { labels: ['cold-chain'] });
  await patch('c', { room: 'kitchen' });
  const byLabel = await createRule(hub, { name: 'cold chain warm', scope: { type: 'label', label: 'cold-chain' }, condition: { type: 'above', metric: 'temp', value: 30 } });
  const byRoom = await createRule(hub, { name: 'kitchen warm', scope: { type: 'room', room: 'kitchen' }, condition: { type: 'above', metric: 'temp', value: 30 } });
  const devicesOf = (rs: ReceivedRequest[]): string[] => rs.flatMap((r) => r.notification.alerts.map((x) => x.deviceId)).sort();

  for (const d of [a, b, c]) await d.read({ temp: 40 });
  t.same(devicesOf(await receiver.waitFor(1, 5000, of(byLabel.id, 'firing'))), ['a'], 'label rule: a only');
  t.same(devicesOf(await receiver.waitFor(1, 5000, of(byRoom.id, 'firing'))), ['c'], 'room rule: c only');

  // b joins the label (judged at once on its latest reading, 40), a leaves it (its alert ends).
  await patch('b', { labels: ['cold-chain'] });
  await patch('a', { labels: [] });
  t.same(devicesOf(await receiver.waitFor(2, 10_000, of(byLabel.id, 'firing'))), ['a', 'b'], 'b fires under the label rule');
  t.same(devicesOf(await receiver.waitFor(1, 10_000, of(byLabel.id, 'resolved'))), ['a'], 'a left the label: resolved');
  // c leaves the kitchen, b moves in.
  await patch('c', { room: null });
  await patch('b', { room: 'kitchen' });
  t.same(devicesOf(await receiver.waitFor(1, 10_000, of(byRoom.id, 'resolved'))), ['c'], 'c left the room: resolved');
  t.same(devicesOf(await receiver.waitFor(2, 10_000, of(byRoom.id, 'firing'))), ['b', 'c'], 'b fires under the room rule');

  // a is out of both scopes now: a new high reading tells nothing about it.
  await a.read({ temp: 45 });
  await sleep(6000);
  t.same(receiver.requests.flatMap((r) => r.notification.alerts.filter((x) => x.deviceId === 'a' && r.notification.state === 'firing').map((x) => x.value)), [40], 'a fired once, before it left');
  for (const r of receiver.requests) t.ok(signatureValid(secret, r.body, r.headers['x-hub-signature-256']));
  t.equal(receiver.requests.length, 6, 'six notifications in all');
});
