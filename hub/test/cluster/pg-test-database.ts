/**
 * One PostgreSQL server per test file, a fresh migrated schema per test:
 * starting a server costs seconds, a schema almost nothing (a database per
 * test also made the server's shutdown checkpoint take seconds), and no
 * test sees another's rows. The pools reach the schema through the
 * connection's search_path.
 */
import type { Test } from 'tap';
import pino from 'pino';
import { PgDatabase } from '../../src/cluster/pg/pg-database.js';
import { migrate } from '../../src/cluster/pg/migrations.js';
import type { PgForTest } from '../helpers/postgres.js';

export interface TestDatabase {
  /** A new pool on this test's schema (one per simulated node), closed at teardown. */
  connect(options?: { maxConnections?: number }): PgDatabase;
}

let made = 0;

export async function migratedDatabase(t: Test, pg: PgForTest): Promise<TestDatabase> {
  const schema = `t${++made}`;
  const url = new URL(pg.server.url);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const pools: PgDatabase[] = [];
  // t is a test inside the file's: its teardown (closing the pools) runs before the server stops at the file's end.
  t.teardown(async () => {
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  });
  const connect = (options: { maxConnections?: number } = {}): PgDatabase => {
    const db = new PgDatabase({ url: url.toString(), log: pino({ level: 'silent' }), connectTimeoutMs: 2_000, ...options });
    pools.push(db);
    return db;
  };
  const first = connect({ maxConnections: 1 });
  await first.query(`CREATE SCHEMA ${schema}`);
  await migrate(first);
  return { connect };
}
