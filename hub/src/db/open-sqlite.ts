/**
 * How the hub opens its SQLite files: WAL, so readers never wait for the
 * writer, and synchronous NORMAL, so a committed write survives a crash of
 * the hub (kill -9) without an fsync per commit; FULL adds one for power
 * loss. A file shared by several connections (control.db: commands, state,
 * audit) waits for the others' write locks instead of failing at once.
 */
import Database from 'better-sqlite3';

export interface OpenSqliteOptions {
  synchronous?: 'NORMAL' | 'FULL';
  /** Other connections of this process write the same file. */
  shared?: boolean;
}

export function openSqlite(file: string, options: OpenSqliteOptions = {}): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
  if (options.shared) db.pragma('busy_timeout = 5000');
  return db;
}
