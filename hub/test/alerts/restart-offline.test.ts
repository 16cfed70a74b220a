/** An offline alert across a hub restart (stopped and started on the same data dir): its duration counts from before the restart. */
import t from 'tap';
import { eventually } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';
import { alertIn, createRule, history, sensor } from './alert-fixtures.js';

t.test('a pending offline alert resumes from when the device was last seen', async (t) => {
  const hub = await startTestHub(t);
  const dev = await sensor(t, hub, 'door', { kind: 'door' });
  const rule = await createRule(hub, { scope: { type: 'kind', kind: 'door' }, condition: { type: 'offline' }, forSec: 3 });
  await dev.close();
  const pending = await alertIn(hub, rule.id, dev.id, 'pending');
  const again = await hub.restart();
  const fired = await alertIn(again, rule.id, dev.id, 'firing', 8000);
  t.equal(fired.id, pending.id);
  t.equal(fired.startedAt, pending.startedAt, 'offline since before the restart');
  await eventually(async () => (await history(again, `?ruleId=${rule.id}`)).length === 2, 3000, 'two history entries');
  t.same((await history(again, `?ruleId=${rule.id}`)).map((e) => e.to), ['firing', 'pending']);
});
