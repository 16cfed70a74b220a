/** The errors condition with a real device: protocol errors it causes, counted within the rule's window. */
import t from 'tap';
import { startTestHub } from '../helpers/hub.js';
import { alertIn, alerts, createRule, history, sensor, sleep } from './alert-fixtures.js';

t.test('errors: count protocol errors within the window fire; the window passing resolves', async (t) => {
  const hub = await startTestHub(t);
  const dev = await sensor(t, hub, 'buggy');
  const rule = await createRule(hub, { scope: { type: 'all' }, condition: { type: 'errors', count: 2 }, forSec: 2 });
  const first = await dev.send({ type: 'telemetry', metrics: 'not an object' });
  t.match(first, { error: 'invalid_message' });
  await sleep(100);
  t.same(await alerts(hub), [], 'one error is under the count');
  await dev.send({ type: 'telemetry', metrics: 'not an object' });
  const firing = await alertIn(hub, rule.id, dev.id, 'firing');
  t.equal(firing.value, 2, 'the value is the number of errors in the window');
  const resolved = await alertIn(hub, rule.id, dev.id, 'resolved', 6000);
  t.equal(resolved.id, firing.id);
  t.same((await history(hub, `?deviceId=${dev.id}`)).map((e) => e.to), ['resolved', 'firing']);
});
