/**
 * The seq window store contract on a real PostgreSQL, then what the
 * cluster adds [FP-4.2]: a device's windows follow it to another node, a
 * node that lost the device cannot overwrite them with older ones, and a
 * device deleted on one node never fails another node's save.
 */
import t from 'tap';
import { PgRegistryStore } from '../../src/cluster/registry/pg-registry-store.js';
import { PgSeqWindowStore } from '../../src/cluster/registry/pg-seq-window-store.js';
import { postgresForTest } from '../helpers/postgres.js';
import { device } from '../registry/registry-store-contract.js';
import { runSeqWindowStoreContract } from '../registry/seq-window-store-contract.js';
import { migratedDatabase, type TestDatabase } from './pg-test-database.js';

async function node(db: TestDatabase): Promise<{ registry: PgRegistryStore; windows: PgSeqWindowStore }> {
  const pool = db.connect();
  const registry = new PgRegistryStore(pool);
  await registry.open();
  const windows = new PgSeqWindowStore(pool);
  await windows.open();
  return { registry, windows };
}

const pg = await postgresForTest(t);
if (pg) {
  runSeqWindowStoreContract(t, 'postgres', async (t) => {
    const db = await migratedDatabase(t, pg);
    return { open: () => node(db) };
  });
}

if (pg) {
  t.test('postgres: a device reconnecting to another node finds its boot and windows there', async (t) => {
    const db = await migratedDatabase(t, pg);
    const [a, b] = [await node(db), await node(db)];
    await a.registry.insert(device('mover'));
    await a.registry.insert(device('other'));
    await a.windows.saveCurrentBoot('mover', 's:boot2');
    const windows = [1, 2, 3, 4, 5].map((n) => ({ deviceId: 'mover', boot: `s:boot${n}`, usedAt: n, last: n * 10, runs: [0, n * 10 + 1] }));
    await a.windows.save({ upserts: [...windows, { deviceId: 'other', boot: 's:x', usedAt: 9, last: 0, runs: [0, 1] }], deletes: [] });
    t.same(await b.windows.loadDevice('mover'), { current: 's:boot2', windows: windows.slice(1) }, 'its own, the most recent, least recently used first');
    t.same(await b.windows.loadDevice('never-seen'), { current: null, windows: [] });
  });

  t.test('postgres: a late save from the node that lost the device does not replace a newer window', async (t) => {
    const db = await migratedDatabase(t, pg);
    const [a, b] = [await node(db), await node(db)];
    await a.registry.insert(device('mover'));
    const newer = { deviceId: 'mover', boot: 's:b', usedAt: 2_000, last: 80, runs: [0, 81] };
    await b.windows.save({ upserts: [newer], deletes: [] });
    await a.windows.save({ upserts: [{ deviceId: 'mover', boot: 's:b', usedAt: 1_000, last: 40, runs: [0, 41] }], deletes: [] });
    t.same((await b.windows.loadDevice('mover')).windows, [newer]);
  });

  t.test('postgres: a device deleted on another node is skipped, never fails the batch', async (t) => {
    const db = await migratedDatabase(t, pg);
    const [a, b] = [await node(db), await node(db)];
    await a.registry.insert(device('kept'));
    let rounds = 0;
    for (let round = 0; round < 30; round++) {
      const id = `gone-${round}`;
      await a.registry.insert(device(id));
      // The delete on node a races node b's persist and hello of the same device.
      const [deleted] = await Promise.all([
        a.registry.delete(id),
        b.windows.save({
          upserts: [
            { deviceId: id, boot: 's:x', usedAt: round, last: 1, runs: [0, 2] },
            { deviceId: 'kept', boot: 's:x', usedAt: round, last: round, runs: [0, round + 1] },
          ],
          deletes: [],
        }),
        b.windows.saveCurrentBoot(id, 's:x'),
      ]);
      if (deleted) rounds++;
    }
    t.equal(rounds, 30);
    const left = await b.windows.loadAll();
    t.same([[...left.current], left.windows], [[], [{ deviceId: 'kept', boot: 's:x', usedAt: 29, last: 29, runs: [0, 30] }]], 'only the device that exists, every save committed');
    await b.windows.saveCurrentBoot('gone-0', 's:y');
    t.same([...(await b.windows.loadAll()).current], [], 'the boot of a device already gone is not stored');
  });
}
