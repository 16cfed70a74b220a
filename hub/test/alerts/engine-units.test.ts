/** The pure parts of the engine: the lifecycle step, the conditions, the shared due queue, the rule index. */
import t from 'tap';
import type { AlertRule } from '@iot-hub/protocol';
import { nextStep } from '../../src/alerts/alert-machine.js';
import { rateHolds, ratePerMinute, thresholdHolds } from '../../src/alerts/conditions.js';
import { DueQueue } from '../../src/alerts/due-queue.js';
import { PRESENCE, RuleIndex, deviceKeys } from '../../src/alerts/rule-index.js';

t.test('nextStep: pending until forSec, firing until cleared and minFiringSec passed', async (t) => {
  const timing = { forSec: 10, minFiringSec: 30 };
  t.same(nextStep(null, false, 0, 0, timing), { to: null, dueAt: null });
  t.same(nextStep(null, true, 1000, 1000, timing), { to: 'pending', dueAt: 11_000 });
  t.same(nextStep(null, true, 1000, 20_000, timing), { to: 'firing', dueAt: null }, 'a duration that already passed fires without pending');
  t.same(nextStep({ state: 'pending', startedAt: 1000, firedAt: null }, true, 1000, 5000, timing), { to: null, dueAt: 11_000 });
  t.same(nextStep({ state: 'pending', startedAt: 1000, firedAt: null }, true, 1000, 11_000, timing), { to: 'firing', dueAt: null });
  t.same(nextStep({ state: 'pending', startedAt: 1000, firedAt: null }, false, 1000, 5000, timing), { to: 'resolved', dueAt: null });
  t.same(nextStep({ state: 'firing', startedAt: 1000, firedAt: 11_000 }, false, 1000, 20_000, timing), { to: null, dueAt: 41_000 }, 'held by minFiringSec');
  t.same(nextStep({ state: 'firing', startedAt: 1000, firedAt: 11_000 }, false, 1000, 41_000, timing), { to: 'resolved', dueAt: null });
  t.same(nextStep({ state: 'firing', startedAt: 1000, firedAt: 11_000 }, true, 1000, 41_000, timing), { to: null, dueAt: null });
});

t.test('thresholds test the firing side until firing, then the clear side', async (t) => {
  const above = { type: 'above' as const, metric: 'm', value: 30, clear: 28 };
  t.same([29, 30, 31].map((v) => thresholdHolds(above, v, false)), [false, false, true]);
  t.same([27, 28, 29].map((v) => thresholdHolds(above, v, true)), [false, false, true]);
  const outside = { type: 'outside' as const, metric: 'm', low: 10, high: 20, clearMargin: 2 };
  t.same([9, 10, 20, 21].map((v) => thresholdHolds(outside, v, false)), [true, false, false, true]);
  t.same([11, 12, 18, 19].map((v) => thresholdHolds(outside, v, true)), [true, false, false, true]);
  t.equal(ratePerMinute({ value: 10, ts: 0 }, 20, 60_000), 10);
  t.equal(ratePerMinute({ value: 10, ts: 5 }, 20, 5), null, 'same timestamp: no rate');
  t.same([rateHolds({ type: 'rate', metric: 'm', perMinute: 5, direction: 'fall' }, -6), rateHolds({ type: 'rate', metric: 'm', perMinute: 5, direction: 'rise' }, -6), rateHolds({ type: 'rate', metric: 'm', perMinute: 5, direction: 'either' }, -6)], [true, false, true]);
});

t.test('DueQueue: one timer for many keys, re-arming replaces, clear cancels, in time order', async (t) => {
  const fired: string[] = [];
  const q = new DueQueue((key) => fired.push(key));
  t.teardown(() => q.clearAll());
  const now = Date.now();
  q.set('c', now + 60);
  q.set('a', now + 20);
  q.set('b', now + 40);
  q.set('a', now + 80);
  q.set('gone', now + 10);
  q.clear('gone');
  t.equal(q.size, 3);
  await new Promise((r) => setTimeout(r, 150));
  t.same(fired, ['b', 'c', 'a']);
  t.equal(q.size, 0);
});

t.test('RuleIndex: a device finds the rules of its scopes and the trigger only', async (t) => {
  const rule = (id: string, scope: AlertRule['scope'], condition: AlertRule['condition']): AlertRule =>
    ({ id, scope, condition, name: id, description: '', severity: 'info', enabled: true, forSec: 0, minFiringSec: 0, actions: [], actionIntervalSec: 60, builtin: null, createdAt: 0, updatedAt: 0, version: 1 });
  const index = new RuleIndex();
  index.add(rule('kind-temp', { type: 'kind', kind: 'thermo' }, { type: 'above', metric: 'temp', value: 1 }));
  index.add(rule('all-offline', { type: 'all' }, { type: 'offline' }));
  index.add(rule('dev-temp', { type: 'device', deviceId: 'x' }, { type: 'above', metric: 'temp', value: 1 }));
  index.add(rule('kind-hum', { type: 'kind', kind: 'thermo' }, { type: 'above', metric: 'hum', value: 1 }));
  const found = (deviceId: string, kind: string, trigger: string): string[] => {
    const ids: string[] = [];
    index.forEach(deviceKeys(deviceId, { kind, room: null, labels: [] }), trigger, (r) => ids.push(r.id));
    return ids.sort();
  };
  t.same(found('x', 'thermo', 'temp'), ['dev-temp', 'kind-temp']);
  t.same(found('y', 'thermo', 'temp'), ['kind-temp']);
  t.same(found('y', 'plug', 'temp'), []);
  t.same(found('y', 'plug', PRESENCE), ['all-offline']);
  index.remove('kind-temp');
  t.same(found('x', 'thermo', 'temp'), ['dev-temp']);
  t.equal(index.size, 3);
});
