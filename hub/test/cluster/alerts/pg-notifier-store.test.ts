/**
 * The notifier store contract on a real PostgreSQL, then what the cluster
 * adds: nodes claiming the same notifier's due deliveries at once each get
 * different ones (FOR UPDATE SKIP LOCKED), so each is sent by one node.
 */
import t from 'tap';
import type { NotifierStore } from '../../../src/alerts/notify/notifier-store.js';
import { PgNotifierStore } from '../../../src/cluster/alerts/pg-notifier-store.js';
import type { PgDatabase } from '../../../src/cluster/pg/pg-database.js';
import { postgresForTest } from '../../helpers/postgres.js';
import { notifierRecord, queue, runNotifierStoreContract } from '../../alerts/notifier-store-contract.js';
import { migratedDatabase } from '../pg-test-database.js';

const pg = await postgresForTest(t);
if (pg) {
  const pools = new WeakMap<NotifierStore, PgDatabase>();
  runNotifierStoreContract(
    t,
    'postgres',
    async (t) => {
      const pool = (await migratedDatabase(t, pg)).connect();
      const store = new PgNotifierStore(pool);
      pools.set(store, pool);
      return store;
    },
    // 10,000 enqueues one by one take most of a minute here: the same rows in two statements.
    async (store, notifierId, count) => {
      const pool = pools.get(store)!;
      await pool.query(`INSERT INTO notifications (id, body) SELECT 'n' || g, json_build_object('id', 'n' || g)::text FROM generate_series(0, $1 - 1) g`, [count]);
      await pool.query(`INSERT INTO deliveries (notification_id, notifier_id, next_at, created_at) SELECT 'n' || g, $2, 1000, 1000 FROM generate_series(0, $1 - 1) g`, [count, notifierId]);
    },
  );

  t.test('postgres: three nodes claiming at once share the due deliveries, each claimed once', async (t) => {
    const db = await migratedDatabase(t, pg);
    const nodes = [0, 1, 2].map(() => new PgNotifierStore(db.connect()));
    const first = nodes[0]!;
    await first.create(notifierRecord('wh'));
    for (let i = 0; i < 30; i++) await queue(first, `n${i}`, ['wh']);
    const claims = await Promise.all(nodes.flatMap((n) => [n.claimDue('wh', 1000, 5, 60_000), n.claimDue('wh', 1000, 5, 60_000)]));
    const ids = claims.flat().map((d) => d.notificationId);
    t.equal(ids.length, 30, 'six claims of five took all thirty');
    t.equal(new Set(ids).size, 30, 'no delivery was claimed twice');
    t.same(await first.claimDue('wh', 59_999, 5, 90_000), [], 'all leased');
  });
}
