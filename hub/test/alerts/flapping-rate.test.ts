/** Flapping damped by minFiringSec, and rate of change between consecutive readings, with real devices. */
import t from 'tap';
import { startTestHub } from '../helpers/hub.js';
import { alertIn, alerts, createRule, history, sensor, sleep } from './alert-fixtures.js';

t.test('minFiringSec: a flapping reading is one alert, resolved only once it has fired long enough', async (t) => {
  const hub = await startTestHub(t);
  const dev = await sensor(t, hub, 'flappy');
  const rule = await createRule(hub, { scope: { type: 'device', deviceId: dev.id }, condition: { type: 'above', metric: 'temp', value: 30 }, minFiringSec: 3 });
  await dev.read({ temp: 31 });
  const firing = await alertIn(hub, rule.id, dev.id, 'firing');
  await dev.read({ temp: 20 });
  await dev.read({ temp: 31 });
  await dev.read({ temp: 20 });
  await sleep(300);
  const still = await alerts(hub, `?ruleId=${rule.id}`);
  t.same(still.map((a) => [a.id, a.state]), [[firing.id, 'firing']], 'still the same firing alert');
  const resolved = await alertIn(hub, rule.id, dev.id, 'resolved', 8000);
  t.equal(resolved.id, firing.id);
  t.ok((resolved.resolvedAt as number) - (firing.firedAt as number) >= 3000, 'resolved no sooner than minFiringSec after it fired');
  t.same((await history(hub, `?ruleId=${rule.id}`)).map((e) => e.to), ['resolved', 'firing'], 'one episode, no flapping');
});

t.test('rate of change between consecutive readings', async (t) => {
  const hub = await startTestHub(t);
  const dev = await sensor(t, hub, 'boiler');
  const rule = await createRule(hub, { scope: { type: 'device', deviceId: dev.id }, condition: { type: 'rate', metric: 'temp', perMinute: 600, direction: 'rise' } });
  await dev.read({ temp: 20 });
  await sleep(1000);
  // +2 in ~1 s ≈ 120/min: under 600/min.
  await dev.read({ temp: 22 });
  await sleep(150);
  t.same(await alerts(hub, `?ruleId=${rule.id}`), [], 'a slow rise does not fire');
  await sleep(200);
  // +50 in ~0.35 s: thousands a minute.
  await dev.read({ temp: 72 });
  const firing = await alertIn(hub, rule.id, dev.id, 'firing');
  t.equal(firing.value, 72);
  await sleep(500);
  await dev.read({ temp: 72 });
  await alertIn(hub, rule.id, dev.id, 'resolved');
});
