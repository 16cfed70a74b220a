import t from 'tap';
import type { AlertView } from '@iot-hub/protocol';
import { AlertStore, compareAlerts, isToastWorthy } from '../src/data/alert-store.js';

const T0 = 1_750_000_000_000;

function alert(id: string, overrides: Partial<AlertView> = {}): AlertView {
  return {
    id,
    ruleId: 'r1',
    ruleName: 'Hot',
    deviceId: 'd1',
    severity: 'warning',
    state: 'firing',
    startedAt: T0,
    firedAt: T0,
    resolvedAt: null,
    since: T0,
    value: 31,
    summary: 'd1 hot',
    acknowledged: null,
    silencedUntil: null,
    ...overrides,
  };
}

t.test('a snapshot, then events: counts, per device and the order', async (t) => {
  const store = new AlertStore();
  store.applySnapshot([
    alert('a', { severity: 'info', since: T0 + 5 }),
    alert('b', { severity: 'critical', since: T0 + 1, deviceId: 'd2' }),
    alert('c', { state: 'pending', firedAt: null, since: T0 + 3 }),
    alert('old', { state: 'resolved' }),
  ]);
  t.equal(store.size, 3, 'a resolved alert in the answer is not open');
  t.strictSame(store.sorted().map((a) => a.id), ['b', 'c', 'a'], 'critical first, then newest first');
  t.strictSame(store.counts(), { firing: 2, pending: 1, worstFiring: 'critical' });
  t.strictSame(store.byDevice().get('d1'), { firing: 1, pending: 1, worst: 'warning' });
  t.strictSame(store.byDevice().get('d2'), { firing: 1, pending: 0, worst: 'critical' });

  t.equal(store.applyEvent(alert('b', { state: 'resolved', severity: 'critical', deviceId: 'd2', since: T0 + 9 }), T0 + 9), false);
  t.strictSame(store.counts(), { firing: 1, pending: 1, worstFiring: 'info' });
  t.equal(store.byDevice().has('d2'), false);
  // A snapshot that raced the resolution does not bring it back.
  store.applySnapshot([alert('b', { severity: 'critical', deviceId: 'd2', since: T0 + 1 }), alert('a', { severity: 'info', since: T0 + 5 })]);
  t.strictSame(store.sorted().map((a) => a.id), ['a']);
});

t.test('a snapshot older than an event keeps the event', async (t) => {
  const store = new AlertStore();
  store.applyEvent(alert('a', { state: 'firing', since: T0 + 10, firedAt: T0 + 10 }), T0 + 10);
  store.applySnapshot([alert('a', { state: 'pending', firedAt: null, since: T0 })]);
  t.equal(store.get('a')?.state, 'firing');
});

t.test('bounded: the oldest change is dropped and counted', async (t) => {
  const store = new AlertStore(3);
  for (let i = 0; i < 5; i++) store.applyEvent(alert(`a${i}`, { since: T0 + i, firedAt: T0 + i }), T0 + i);
  t.equal(store.size, 3);
  t.equal(store.dropped, 2);
  t.strictSame(store.sorted().map((a) => a.id), ['a4', 'a3', 'a2']);
});

t.test('toasts: a critical alert that has just fired and is not silenced', async (t) => {
  const firing = alert('a', { severity: 'critical', since: T0 + 5, firedAt: T0 + 5 });
  t.equal(isToastWorthy(undefined, firing, T0 + 5), true);
  t.equal(isToastWorthy(alert('a', { severity: 'critical', state: 'pending', firedAt: null }), firing, T0 + 5), true);
  t.equal(isToastWorthy(firing, { ...firing, acknowledged: { by: 'op', at: T0 + 6, note: '' } }, T0 + 6), false, 'not again when acknowledged');
  t.equal(isToastWorthy(undefined, { ...firing, since: T0 + 7 }, T0 + 7), false, 'not a later re-telling of a firing alert');
  t.equal(isToastWorthy(undefined, { ...firing, severity: 'warning' }, T0 + 5), false, 'not a warning');
  t.equal(isToastWorthy(undefined, { ...firing, silencedUntil: T0 + 60_000 }, T0 + 5), false, 'not a silenced one');
  t.equal(isToastWorthy(undefined, { ...firing, silencedUntil: T0 + 1 }, T0 + 5), true, 'a silence that has ended mutes nothing');
  const store = new AlertStore();
  t.equal(store.applyEvent(firing, T0 + 5), true);
  t.equal(store.applyEvent({ ...firing, acknowledged: { by: 'op', at: T0 + 6, note: 'on it' } }, T0 + 6), false);
});

t.test('compareAlerts breaks ties by id', async (t) => {
  t.ok(compareAlerts(alert('a'), alert('b')) < 0);
});
