/** Alerts across a hub restart (stopped and started on the same data dir): judged on stored data, nothing told twice. */
import t from 'tap';
import { startTestHub } from '../helpers/hub.js';
import { connectDevice } from '../helpers/any-transport-device.js';
import { alertIn, alerts, alertWatcher, createRule, history, sensor, sleep } from './alert-fixtures.js';

t.test('a pending alert whose forSec spans the restart keeps its startedAt and fires; a firing one is not told again', async (t) => {
  const hub = await startTestHub(t);
  const dev = await sensor(t, hub, 'oven');
  const slow = await createRule(hub, { name: 'slow', scope: { type: 'device', deviceId: dev.id }, condition: { type: 'above', metric: 'temp', value: 200 }, forSec: 3 });
  const fast = await createRule(hub, { name: 'fast', scope: { type: 'device', deviceId: dev.id }, condition: { type: 'above', metric: 'temp', value: 100 } });
  await dev.read({ temp: 250 });
  const pending = await alertIn(hub, slow.id, dev.id, 'pending');
  const firing = await alertIn(hub, fast.id, dev.id, 'firing');
  await dev.close();

  const again = await hub.restart();
  const fired = await alertIn(again, slow.id, dev.id, 'firing', 8000);
  t.equal(fired.id, pending.id, 'the same episode');
  t.equal(fired.startedAt, pending.startedAt, 'its duration was not reset by the restart');
  t.ok((fired.firedAt as number) >= pending.startedAt + 3000);
  const stillFiring = (await alerts(again, `?ruleId=${fast.id}`))[0];
  t.same(stillFiring, firing, 'the firing alert survived unchanged');
  // Every transition is stored before it is told: the history shows what was told, across both runs.
  t.same((await history(again, `?ruleId=${slow.id}`)).map((e) => e.to), ['firing', 'pending'], 'the pending alert fired once');
  t.same((await history(again, `?ruleId=${fast.id}`)).map((e) => e.to), ['firing'], 'the firing alert was not told again');
  const watch = await alertWatcher(t, again);
  const back = await connectDevice(t, again, 'ws', dev.id, dev.token);
  t.equal(await back.send({ type: 'telemetry', metrics: { temp: 260 } }), null);
  await sleep(300);
  t.same(watch.alerts(), [], 'a reading that keeps both conditions true tells nothing');
});
