/**
 * The RegistryStore contract on a real PostgreSQL, then what only the
 * cluster's store promises: one winner among nodes inserting the same id,
 * the changedSince() delta with tombstones, and saveLastSeen in one
 * statement that never moves a device's time back nor deadlocks.
 */
import t from 'tap';
import type { PgDatabase } from '../../src/cluster/pg/pg-database.js';
import { PgRegistryStore, TOMBSTONE_RETENTION_MS } from '../../src/cluster/registry/pg-registry-store.js';
import { postgresForTest } from '../helpers/postgres.js';
import { device, runRegistryStoreContract } from '../registry/registry-store-contract.js';
import { migratedDatabase } from './pg-test-database.js';

const pg = await postgresForTest(t);
if (pg) {
  runRegistryStoreContract(t, 'postgres', async (t) => {
    const db = await migratedDatabase(t, pg);
    return {
      async open() {
        const store = new PgRegistryStore(db.connect());
        await store.open();
        return store;
      },
    };
  });
}

/** Moves every change and tombstone back in time, as if it happened `ms` ago. */
async function age(db: PgDatabase, ms: number): Promise<void> {
  await db.query('UPDATE devices SET updated_at = updated_at - $1', [ms]);
  await db.query('UPDATE device_tombstones SET deleted_at = deleted_at - $1', [ms]);
}

if (pg) {
  t.test('postgres: three nodes inserting the same ids at once: exactly one wins each', async (t) => {
    const db = await migratedDatabase(t, pg);
    const nodes = [0, 1, 2].map(() => new PgRegistryStore(db.connect()));
    const ids = Array.from({ length: 40 }, (_, i) => `race-${i}`);
    const outcomes = await Promise.all(ids.flatMap((id) => nodes.map(async (store, n) => ({ id, n, won: await store.insert(device(id, { kind: `node${n}` })) }))));
    const stored = new Map((await nodes[0]!.loadAll()).map((r) => [r.id, r.kind]));
    for (const id of ids) {
      const winners = outcomes.filter((o) => o.id === id && o.won);
      t.equal(winners.length, 1, `one winner for ${id}`);
      t.equal(stored.get(id), `node${winners[0]?.n}`, `${id} is the winner's record`);
    }
  });

  t.test('postgres: changedSince gives every change once it is older than the cursor, and deletions', async (t) => {
    const db = await migratedDatabase(t, pg);
    const admin = db.connect();
    const store = new PgRegistryStore(db.connect());
    const empty = await store.changedSince(0);
    t.same([empty.records, empty.deletedIds, empty.missedDeletions], [[], [], true], 'nothing yet; a zero cursor predates any retention');
    for (const id of ['d1', 'd2', 'd3', 'd4']) await store.insert(device(id));
    const all = await store.changedSince(0);
    t.same(all.records.map((r) => r.id).sort(), ['d1', 'd2', 'd3', 'd4']);
    t.strictSame(all.records.find((r) => r.id === 'd1'), device('d1'), 'the records are whole');

    await age(admin, 60_000);
    const quiet = await store.changedSince(all.cursor);
    t.same([quiet.records, quiet.deletedIds, quiet.missedDeletions], [[], [], false], 'nothing changed after the cursor');
    t.ok(quiet.cursor >= all.cursor, 'the cursor never goes back');

    const changes: [string, string, () => Promise<unknown>][] = [
      ['saveToken', 'd1', () => store.saveToken('d1', 'e'.repeat(64), 5)],
      ['revokeToken', 'd2', () => store.revokeToken('d2', 6)],
      ['saveCapabilities', 'd3', () => store.saveCapabilities('d3', { kind: 'k', metrics: {}, commands: {}, heartbeatSec: 9 })],
      ['saveLastSeen', 'd4', () => store.saveLastSeen([{ id: 'd4', lastSeen: 7, transport: 'ws' }])],
      ['saveAttributes', 'd1', () => store.saveAttributes('d1', { name: 'n', room: 'Hall', labels: ['a'] })],
      ['insert', 'd5', () => store.insert(device('d5'))],
    ];
    for (const [what, id, change] of changes) {
      await age(admin, 60_000);
      await change();
      const delta = await store.changedSince(all.cursor);
      t.same(delta.records.map((r) => r.id), [id], `${what} shows in the delta`);
      t.same(delta.deletedIds, []);
    }
    t.equal((await store.changedSince(all.cursor)).records[0]?.tokenHash, 'a'.repeat(64), 'd5 as inserted');

    await age(admin, 60_000);
    await store.saveLastSeen([{ id: 'd4', lastSeen: 7, transport: 'ws' }]);
    t.same((await store.changedSince(all.cursor)).records, [], 'a last-seen flush that changes nothing is not a change');

    await store.delete('d2');
    const deleted = await store.changedSince(all.cursor);
    t.same([deleted.records, deleted.deletedIds], [[], ['d2']], 'a deletion');

    await store.insert(device('d2', { kind: 'again' }));
    const again = await store.changedSince(all.cursor);
    t.same([again.records.map((r) => [r.id, r.kind]), again.deletedIds], [[['d2', 'again']], []], 'provisioned again: the new record, not a deletion');
  });

  t.test('postgres: tombstones older than the retention are pruned at the next delete', async (t) => {
    const db = await migratedDatabase(t, pg);
    const admin = db.connect();
    const store = new PgRegistryStore(db.connect());
    for (const id of ['old', 'recent', 'now']) await store.insert(device(id));
    await store.delete('old');
    await age(admin, TOMBSTONE_RETENTION_MS - 120_000);
    await store.delete('recent');
    await age(admin, 180_000);
    t.same((await admin.query('SELECT id FROM device_tombstones ORDER BY id')).rows, [{ id: 'old' }, { id: 'recent' }], 'kept until a delete prunes');
    await store.delete('now');
    t.same((await admin.query('SELECT id FROM device_tombstones ORDER BY id')).rows, [{ id: 'now' }, { id: 'recent' }], 'the one past the retention is gone');
    const { cursor } = await store.changedSince(0);
    t.equal((await store.changedSince(cursor - TOMBSTONE_RETENTION_MS)).missedDeletions, true, 'a cursor older than the retention must reload');
  });

  t.test('postgres: saveLastSeen of 1,000 devices is one statement', async (t) => {
    const db = await migratedDatabase(t, pg);
    const admin = db.connect();
    await admin.query(
      `INSERT INTO devices (id, kind, name, token_hash, token_issued_at, created_at, updated_at)
       SELECT 'dev-' || lpad(i::text, 4, '0'), 'sensor', '"n"', 'h', 1, 1, 1 FROM generate_series(1, 1000) AS i`,
    );
    const pool = db.connect();
    const store = new PgRegistryStore(pool);
    const entries = Array.from({ length: 1000 }, (_, i) => ({ id: `dev-${String(i + 1).padStart(4, '0')}`, lastSeen: 10_000 + i, transport: i % 2 === 0 ? ('mqtt' as const) : ('ws' as const) }));
    await store.saveLastSeen(entries);
    t.equal(pool.commits, 1, 'one write for the thousand');
    const rows = (await store.loadAll()).map((r) => ({ id: r.id, lastSeen: r.lastSeen, transport: r.lastTransport }));
    t.same(rows, entries);
  });

  t.test('postgres: a late flush from a node that lost the device does not move its last-seen back', async (t) => {
    const db = await migratedDatabase(t, pg);
    const [a, b] = [new PgRegistryStore(db.connect()), new PgRegistryStore(db.connect())];
    await a.insert(device('moved'));
    await b.saveLastSeen([{ id: 'moved', lastSeen: 2_000, transport: 'ws' }]);
    await a.saveLastSeen([{ id: 'moved', lastSeen: 1_000, transport: 'mqtt' }]);
    const [r] = await a.loadAll();
    t.same([r?.lastSeen, r?.lastTransport], [2_000, 'ws']);
  });

  t.test('postgres: nodes flushing the same devices in opposite orders at once never deadlock', async (t) => {
    const db = await migratedDatabase(t, pg);
    const admin = db.connect();
    await admin.query(
      `INSERT INTO devices (id, kind, name, token_hash, token_issued_at, created_at, updated_at)
       SELECT 'dev-' || lpad(i::text, 4, '0'), 'sensor', '"n"', 'h', 1, 1, 1 FROM generate_series(1, 500) AS i`,
    );
    const nodes = [new PgRegistryStore(db.connect()), new PgRegistryStore(db.connect())];
    const ids = Array.from({ length: 500 }, (_, i) => `dev-${String(i + 1).padStart(4, '0')}`);
    for (let round = 1; round <= 5; round++) {
      await Promise.all([
        nodes[0]!.saveLastSeen(ids.map((id) => ({ id, lastSeen: round * 10, transport: 'mqtt' }))),
        nodes[1]!.saveLastSeen([...ids].reverse().map((id) => ({ id, lastSeen: round * 10 + 1, transport: 'ws' }))),
      ]);
    }
    const seen = new Set((await nodes[0]!.loadAll()).map((r) => `${r.lastSeen}/${r.lastTransport}`));
    t.same([...seen], ['51/ws'], 'every device has the newest time of the last round');
  });
}
