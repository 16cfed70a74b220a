/**
 * A real PostgreSQL server for a test (engines/), and PgDatabase pools on
 * it that the teardown closes before the server stops.
 */
import pino from 'pino';
import { engineForTest, startPostgres, type Postgres } from '@iot-hub/engines';
import { PgDatabase, type PgDatabaseOptions } from '../../src/cluster/pg/pg-database.js';

interface TapLike {
  teardown(fn: () => unknown): void;
  plan(n: number, comment?: string): void;
  fail(message: string): void;
}

export interface PgForTest {
  server: Postgres;
  /** A new pool on the server (one per simulated node), closed at teardown. */
  connect(options?: Partial<Omit<PgDatabaseOptions, 'url' | 'log'>>): PgDatabase;
}

/** null when PostgreSQL is missing: the test was skipped (or failed under CI). */
export async function postgresForTest(t: TapLike): Promise<PgForTest | null> {
  const pools: PgDatabase[] = [];
  // Teardowns run in the order registered: the pools close before the server stops.
  t.teardown(async () => {
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  });
  const server = await engineForTest(t, () => startPostgres());
  if (!server) return null;
  return {
    server,
    connect(options = {}) {
      const db = new PgDatabase({ url: server.url, log: pino({ level: 'silent' }), connectTimeoutMs: 2_000, ...options });
      pools.push(db);
      return db;
    },
  };
}
