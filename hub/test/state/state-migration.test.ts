/**
 * A control file written by a hub before shadow semantics [FP-4.3]: desired
 * held only pending keys (a key was deleted once the device reported it).
 * Opening it rebuilds each device's desired document from the audit log's
 * successful patches, the stored pending keys winning, and raises the
 * version of each device that got keys back. Once, not at every start.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startTestHub } from '../helpers/hub.js';
import { connectStateDevice, patchDesired, stateOf, values } from './state-device.js';

/** The device_state table as hubs before 1.1 created it. */
const OLD_SCHEMA = `
CREATE TABLE device_state (
  device_id TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  reported_version INTEGER,
  reported TEXT NOT NULL,
  desired TEXT NOT NULL
);`;

/** [key, value, ts] rows, as the old store encoded entries. */
const entries = (rows: [string, unknown, number][]) => JSON.stringify(rows);

t.test('an old control file: desired keys the device had reached come back from the audit log, once', async (t) => {
  const first = await startTestHub(t);
  const therm = await first.provision('therm', 'thermostat');
  await first.provision('plug', 'plug');
  await first.provision('untouched', 'plug');
  await first.provision('reborn', 'plug');
  // The audit log the old hub wrote: every successful patch, and one refused (not replayed).
  await patchDesired(first, 'therm', { state: { mode: 'heat', target: 20 } });
  await patchDesired(first, 'therm', { state: { target: 21, eco: true } });
  await patchDesired(first, 'therm', { state: { eco: null } });
  t.equal((await first.api('PATCH', '/api/devices/therm/state/desired', { state: { target: 5 }, ifVersion: 0 })).status, 409);
  await patchDesired(first, 'plug', { state: { on: true } });
  await patchDesired(first, 'untouched', { state: { on: false } });
  await patchDesired(first, 'reborn', { state: { old: 1 } });
  t.equal((await first.api('DELETE', '/api/devices/reborn')).status, 204);
  await first.provision('reborn', 'plug');
  await patchDesired(first, 'reborn', { state: { fresh: 2 } });
  await first.stop();

  // What the old hub stored after the devices reported: reached keys were deleted.
  const db = new Database(join(first.dataDir, 'control.db'));
  db.exec(`DROP TABLE device_state; DROP TABLE device_state_meta; ${OLD_SCHEMA}`);
  const insert = db.prepare('INSERT INTO device_state VALUES (?, ?, ?, ?, ?)');
  insert.run('therm', 3, 3, entries([['mode', 'eco', 500], ['target', 21, 500]]), entries([['mode', 'heat', 1234]]));
  insert.run('plug', 1, 1, entries([['on', true, 600]]), entries([]));
  insert.run('untouched', 1, null, entries([]), entries([['on', false, 700]]));
  insert.run('reborn', 1, 1, entries([['fresh', 2, 800]]), entries([]));
  db.close();

  const second = await first.restart();
  const thermView = await stateOf(second, 'therm');
  t.same(values(thermView.desired), { target: 21, mode: 'heat' }, 'target came back from the audit log; eco stays removed');
  t.equal(thermView.desired.mode?.ts, 1234, 'the stored pending key wins over the replay');
  t.same([thermView.version, thermView.delta, thermView.refused], [4, { mode: 'heat' }, {}], 'version raised by one');
  const plugView = await stateOf(second, 'plug');
  t.same([values(plugView.desired), plugView.version, plugView.delta], [{ on: true }, 2, {}], 'reached, now kept and in sync');
  const untouchedView = await stateOf(second, 'untouched');
  t.same([values(untouchedView.desired), untouchedView.version], [{ on: false }, 1], 'nothing to add: version unchanged');
  const rebornView = await stateOf(second, 'reborn');
  t.same([values(rebornView.desired), rebornView.version], [{ fresh: 2 }, 2], 'only patches since the device was created again');

  // The device is told what the migration brought back on its next connect.
  const device = await connectStateDevice(t, second, 'ws', 'therm', therm.token);
  t.same(await device.nthDesired(1), { v: 1, type: 'desired', state: { target: 21, mode: 'heat' }, version: 4, delta: { mode: 'heat' } });
  await device.close();

  const migrated = new Map<string, unknown>();
  for (const id of ['therm', 'plug', 'untouched', 'reborn']) {
    const view = await stateOf(second, id);
    migrated.set(id, [values(view.desired), view.version]);
  }
  const third = await second.restart();
  for (const [id, expected] of migrated) {
    const again = await stateOf(third, id);
    t.same([values(again.desired), again.version], expected, `${id}: migrated once, not again at the next start`);
  }
  const check = new Database(join(third.dataDir, 'control.db'), { readonly: true });
  t.teardown(() => check.close());
  t.same(check.prepare('SELECT name, value FROM device_state_meta').all(), [{ name: 'schema', value: 2 }], 'the file records its state schema');
});

t.test('a new control file starts at the current schema with nothing to migrate', async (t) => {
  const hub = await startTestHub(t);
  await hub.provision('new-one');
  await patchDesired(hub, 'new-one', { state: { a: 1 } });
  const check = new Database(join(hub.dataDir, 'control.db'), { readonly: true });
  t.teardown(() => check.close());
  t.same(check.prepare('SELECT name, value FROM device_state_meta').all(), [{ name: 'schema', value: 2 }]);
  t.same((check.prepare('SELECT refused FROM device_state').get() as { refused: string }).refused, '[]');
});
