/** An acknowledgement the store refuses is answered 503 and leaves the alert as it was, in the store and in memory. */
import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AlertView } from '@iot-hub/protocol';
import { startTestHub } from '../helpers/hub.js';
import { alertIn, alertWatcher, alerts, createRule, history, sensor, sleep } from './alert-fixtures.js';

t.test('acknowledging while alerts.db is write-locked by another process is 503 storage_unavailable and changes nothing', async (t) => {
  const hub = await startTestHub(t);
  const dev = await sensor(t, hub, 'tank');
  const watch = await alertWatcher(t, hub);
  const rule = await createRule(hub, { scope: { type: 'device', deviceId: dev.id }, condition: { type: 'above', metric: 'temp', value: 30 } });
  await dev.read({ temp: 40 });
  const firing = await alertIn(hub, rule.id, dev.id, 'firing');

  // A real cause: another connection holds the write lock, so the hub's write fails with SQLITE_BUSY.
  const locker = new Database(join(hub.dataDir, 'alerts.db'));
  t.teardown(() => locker.close());
  locker.exec('BEGIN EXCLUSIVE');
  const refused = await hub.api('POST', `/api/alerts/${firing.id}/ack`, { note: 'on my way' });
  t.same(refused, { status: 503, body: { error: 'storage_unavailable', code: 503, message: `storage is unavailable, try again later: the acknowledgement of alert "${firing.id}" could not be stored` } });
  locker.exec('ROLLBACK');

  t.equal((await alerts(hub, `?ruleId=${rule.id}`))[0]?.acknowledged, null, 'the stored alert is not acknowledged');
  t.same(await history(hub, '?state=acknowledged'), [], 'no acknowledgement in the history');
  await sleep(200);
  t.equal(watch.alerts().filter((a) => a.acknowledged !== null).length, 0, 'dashboards were told nothing');
  // The in-memory alert is what the next transition is built from: it must not carry the refused acknowledgement.
  await dev.read({ temp: 10 });
  const resolved = await alertIn(hub, rule.id, dev.id, 'resolved');
  t.equal(resolved.id, firing.id);
  t.equal(resolved.acknowledged, null, 'the next transition carries no acknowledgement');

  await dev.read({ temp: 41 });
  const next = await alertIn(hub, rule.id, dev.id, 'firing');
  const ok = await hub.api('POST', `/api/alerts/${next.id}/ack`, { note: 'retry' });
  t.equal(ok.status, 200, 'with the lock gone an acknowledgement is stored');
  t.match(ok.body as AlertView, { id: next.id, acknowledged: { by: 'admin', note: 'retry' } });
});
