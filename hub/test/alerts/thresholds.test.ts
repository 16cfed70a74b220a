/** Threshold conditions with real devices: durations, hysteresis, per-device tracking, scope by kind. */
import t from 'tap';
import { startTestHub } from '../helpers/hub.js';
import { alertIn, alerts, alertWatcher, createRule, history, sensor, sleep } from './alert-fixtures.js';

t.test('above with forSec: pending, then firing once the duration passed; hysteresis holds it until clear', async (t) => {
  const hub = await startTestHub(t);
  const dev = await sensor(t, hub, 'freezer-1');
  const watch = await alertWatcher(t, hub);
  const rule = await createRule(hub, { name: 'warm', description: '{deviceName} at {value} (>{threshold})', scope: { type: 'device', deviceId: dev.id }, condition: { type: 'above', metric: 'temp', value: 30, clear: 28 }, forSec: 1 });
  await dev.read({ temp: 31 });
  const pending = await alertIn(hub, rule.id, dev.id, 'pending');
  t.match(pending, { state: 'pending', value: 31, firedAt: null, summary: 'freezer-1 at 31 (>30)', severity: 'warning', ruleName: 'warm' });
  const firing = await alertIn(hub, rule.id, dev.id, 'firing', 4000);
  t.equal(firing.id, pending.id, 'one episode keeps its id');
  t.equal(firing.startedAt, pending.startedAt);
  t.ok(firing.firedAt !== null && firing.firedAt - firing.startedAt >= 1000, 'fired no sooner than forSec after it started');
  await dev.read({ temp: 29 });
  await sleep(100);
  t.equal((await alerts(hub, `?ruleId=${rule.id}`))[0]?.state, 'firing', '29 is below the threshold but not at clear (28): still firing');
  await dev.read({ temp: 28 });
  const resolved = await alertIn(hub, rule.id, dev.id, 'resolved');
  t.equal(resolved.id, firing.id);
  t.equal(resolved.value, 28);
  const states = watch.alerts().filter((a) => a.id === firing.id).map((a) => a.state);
  t.same(states, ['pending', 'firing', 'resolved'], 'each transition reached the dashboard once, in order');
  const entries = await history(hub, `?ruleId=${rule.id}`);
  t.same(entries.map((e) => [e.to, e.value]), [['resolved', 28], ['firing', 31], ['pending', 31]], 'history, newest first, with the values that caused each');
});

t.test('a pending alert whose condition stops holding ends without firing', async (t) => {
  const hub = await startTestHub(t);
  const dev = await sensor(t, hub, 'd1');
  const rule = await createRule(hub, { scope: { type: 'device', deviceId: dev.id }, condition: { type: 'above', metric: 'temp', value: 30 }, forSec: 5 });
  await dev.read({ temp: 35 });
  await alertIn(hub, rule.id, dev.id, 'pending');
  await dev.read({ temp: 20 });
  const ended = await alertIn(hub, rule.id, dev.id, 'resolved');
  t.equal(ended.firedAt, null, 'it never fired');
  t.same((await history(hub, `?ruleId=${rule.id}`)).map((e) => e.to), ['resolved', 'pending']);
});

t.test('below and outside; forSec 0 fires at once; each device of a kind is tracked separately, other kinds not at all', async (t) => {
  const hub = await startTestHub(t);
  const metrics = { battery: { type: 'number' as const }, temp: { type: 'number' as const } };
  const a = await sensor(t, hub, 'a', { kind: 'thermo', metrics });
  const b = await sensor(t, hub, 'b', { kind: 'thermo', metrics });
  const other = await sensor(t, hub, 'c', { kind: 'plug', metrics });
  const low = await createRule(hub, { scope: { type: 'kind', kind: 'thermo' }, condition: { type: 'below', metric: 'battery', value: 15, clear: 20 } });
  const band = await createRule(hub, { scope: { type: 'kind', kind: 'thermo' }, condition: { type: 'outside', metric: 'temp', low: 18, high: 24, clearMargin: 1 } });
  await a.read({ battery: 10, temp: 21 });
  await b.read({ battery: 50, temp: 26 });
  await other.read({ battery: 1, temp: 40 });
  const aLow = await alertIn(hub, low.id, 'a', 'firing');
  t.equal(aLow.firedAt, aLow.startedAt, 'forSec 0: fired when it started, no pending step');
  await alertIn(hub, band.id, 'b', 'firing');
  const open = await alerts(hub);
  t.same(open.map((x) => `${x.ruleId === low.id ? 'low' : 'band'}:${x.deviceId}`).sort(), ['band:b', 'low:a'], 'only a is low, only b is outside, c is not of the kind');
  await b.read({ battery: 50, temp: 23.5 });
  await sleep(100);
  t.equal((await alerts(hub, `?ruleId=${band.id}`))[0]?.state, 'firing', '23.5 is inside 18..24 but not inside the clear band 19..23');
  await b.read({ battery: 50, temp: 22 });
  await alertIn(hub, band.id, 'b', 'resolved');
});
