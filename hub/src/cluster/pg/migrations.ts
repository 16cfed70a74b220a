/**
 * Schema migrations for the cluster's PostgreSQL database. Each part of the
 * hub keeps its tables in its own list (registry, commands, ...); they run
 * in the order of ALL_MIGRATIONS, each once, each in its own transaction
 * with its row in schema_migrations. Nodes starting at once serialize on an
 * advisory lock, so the second finds the work done: idempotent and safe.
 */
import { ACCOUNT_MIGRATIONS } from '../auth/account-migrations.js';
import { OWNERSHIP_MIGRATIONS } from '../ownership/schema.js';
import { AUDIT_MIGRATIONS } from '../audit/audit-migrations.js';
import { STATE_MIGRATIONS } from '../state/state-migrations.js';
import type { PgDatabase } from './pg-database.js';
import { REGISTRY_MIGRATIONS } from '../registry/registry-migrations.js';
import { COMMAND_MIGRATIONS } from '../commands/command-migrations.js';
import { ALERT_MIGRATIONS } from '../alerts/alert-migrations.js';
import { NOTIFY_MIGRATIONS } from '../alerts/notify-migrations.js';

export interface Migration {
  /** Stable forever once released: "<part>-<n>". */
  id: string;
  sql: string;
}

/** The advisory lock key of migrations (any constant unique among the hub's locks). */
export const MIGRATION_LOCK = 0x10_7_0001;

/** Every part's migrations, in the order they run. Parts append their list here. */
export const ALL_MIGRATIONS: readonly (readonly Migration[])[] = [
  REGISTRY_MIGRATIONS,
  ACCOUNT_MIGRATIONS,
  OWNERSHIP_MIGRATIONS,
  COMMAND_MIGRATIONS,
  AUDIT_MIGRATIONS,
  STATE_MIGRATIONS,
  ALERT_MIGRATIONS,
  NOTIFY_MIGRATIONS,
];

export async function migrate(db: PgDatabase, lists: readonly (readonly Migration[])[] = ALL_MIGRATIONS): Promise<string[]> {
  const ids = new Set<string>();
  for (const m of lists.flat()) {
    if (ids.has(m.id)) throw new Error(`migration id ${m.id} is used twice`);
    ids.add(m.id);
  }
  const applied: string[] = [];
  await db.withAdvisoryLock(MIGRATION_LOCK, true, async (session) => {
    await session.query('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const done = new Set((await session.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
    for (const m of lists.flat()) {
      if (done.has(m.id)) continue;
      await session.query('BEGIN');
      try {
        await session.query(m.sql);
        await session.query('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
        await session.query('COMMIT');
      } catch (err) {
        await session.query('ROLLBACK').catch(() => undefined);
        throw new Error(`migration ${m.id} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(m.id);
    }
  });
  return applied;
}
