/**
 * Where the audit log keeps its entries: SqliteAuditStore (one node) and
 * PgAuditStore (a cluster). `Tx` is the store's transaction handle, so a
 * change and its entry commit together where the store allows (PostgreSQL);
 * SQLite has none (`never`).
 */
import type { AuditAction, AuditEntry } from '@iot-hub/protocol';

export interface AuditQuery {
  deviceId?: string;
  actor?: string;
  action?: AuditAction;
  from?: number;
  to?: number;
  /** Only entries with a smaller id (the page cursor). */
  beforeId?: number;
  limit: number;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

export interface AuditStore<Tx = never> {
  open(): Promise<void>;
  close(): Promise<void>;
  /** Appends an entry (inside `tx` when given); resolves its id, larger than every id before it. */
  insert(entry: NewAuditEntry, tx?: Tx): Promise<number>;
  /** Sets the outcome of the command's `command.create` entry if it has none yet; true if one was set. */
  setCommandOutcome(commandId: string, outcome: string): Promise<boolean>;
  /** Newest first (by id, the order of recording). */
  query(q: AuditQuery): Promise<AuditEntry[]>;
  /** Deletes all but the newest `keep` entries; resolves how many were deleted. */
  prune(keep: number): Promise<number>;
}
