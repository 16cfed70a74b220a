/**
 * Commands on SQLite, in the shared control.db (the state and audit stores
 * keep their own tables there). Every statement is prepared once and every
 * query is served by an index: by id, by device and creation order, by
 * idempotency key, and the pending ones at start.
 */
import type Database from 'better-sqlite3';
import type { CommandState, CommandTransition, LateResult } from '@iot-hub/protocol';
import type { CommandRecord } from './command-record.js';
import { WalCheckpointer } from '../db/wal-checkpointer.js';
import { openSqlite } from '../db/open-sqlite.js';

/** How often the worker thread checkpoints the WAL (see WalCheckpointer). */
const CHECKPOINT_INTERVAL_MS = 200;
/**
 * This connection's own automatic checkpoint, a fallback should the worker
 * fall behind: far above what the worker lets the WAL grow to (pages of 4 KiB).
 */
const FALLBACK_AUTOCHECKPOINT_PAGES = 10_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS commands (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  device_id TEXT NOT NULL,
  name TEXT NOT NULL,
  params TEXT NOT NULL,
  state TEXT NOT NULL,
  transitions TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  timeout_ms INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  sent_at INTEGER,
  deliveries INTEGER NOT NULL,
  result TEXT,
  error TEXT,
  late TEXT,
  issued_by TEXT NOT NULL,
  idempotency_key TEXT
);
CREATE INDEX IF NOT EXISTS commands_by_device ON commands (device_id, seq);
CREATE INDEX IF NOT EXISTS commands_by_state ON commands (state);
CREATE UNIQUE INDEX IF NOT EXISTS commands_by_idempotency_key ON commands (device_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
`;

const PENDING_STATES = `('queued', 'sent', 'acknowledged')`;

interface Row {
  seq: number;
  id: string;
  device_id: string;
  name: string;
  params: string;
  state: string;
  transitions: string;
  created_at: number;
  updated_at: number;
  timeout_ms: number;
  expires_at: number;
  sent_at: number | null;
  deliveries: number;
  result: string | null;
  error: string | null;
  late: string | null;
  issued_by: string;
  idempotency_key: string | null;
}

type Statements = ReturnType<typeof prepare>;

function prepare(db: Database.Database) {
  return {
    insert: db.prepare(
      `INSERT INTO commands (id, device_id, name, params, state, transitions, created_at, updated_at, timeout_ms, expires_at, sent_at, deliveries, result, error, late, issued_by, idempotency_key)
       VALUES (@id, @device_id, @name, @params, @state, @transitions, @created_at, @updated_at, @timeout_ms, @expires_at, @sent_at, @deliveries, @result, @error, @late, @issued_by, @idempotency_key)`,
    ),
    update: db.prepare(
      `UPDATE commands SET state = @state, transitions = @transitions, updated_at = @updated_at, sent_at = @sent_at,
         deliveries = @deliveries, result = @result, error = @error, late = @late WHERE id = @id`,
    ),
    byId: db.prepare('SELECT * FROM commands WHERE id = ?'),
    byKey: db.prepare('SELECT * FROM commands WHERE device_id = ? AND idempotency_key = ?'),
    page: db.prepare('SELECT * FROM commands WHERE device_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
    pending: db.prepare(`SELECT * FROM commands WHERE state IN ${PENDING_STATES} ORDER BY seq`),
    countByState: db.prepare('SELECT state, COUNT(*) AS n FROM commands GROUP BY state'),
    deleteDevice: db.prepare('DELETE FROM commands WHERE device_id = ?'),
    // Served by commands_by_device: one step per device, not per command.
    deviceIds: db.prepare('SELECT DISTINCT device_id FROM commands'),
  };
}

export class SqliteCommandStore {
  private db: Database.Database | null = null;
  private statements: Statements | null = null;
  private updateMany: ((records: readonly CommandRecord[]) => void) | null = null;
  private checkpointer: WalCheckpointer | null = null;

  constructor(
    private readonly file: string,
    private readonly onCheckpointError: (message: string) => void = () => {},
  ) {}

  private get stmt(): Statements {
    if (!this.statements) throw new Error('SqliteCommandStore used before open()');
    return this.statements;
  }

  open(): void {
    // State and audit write the same file from their own connections.
    const db = openSqlite(this.file, { shared: true });
    db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
    db.exec(SCHEMA);
    this.db = db;
    this.checkpointer = new WalCheckpointer(this.file, CHECKPOINT_INTERVAL_MS, this.onCheckpointError);
    const statements = prepare(db);
    this.statements = statements;
    this.updateMany = db.transaction((records: readonly CommandRecord[]) => {
      for (const r of records) statements.update.run(toUpdateRow(r));
    });
  }

  async close(): Promise<void> {
    const checkpointer = this.checkpointer;
    this.checkpointer = null;
    await checkpointer?.stop();
    this.db?.close();
    this.db = null;
    this.statements = null;
    this.updateMany = null;
  }

  /** Inserts a new command; returns its seq (creation order). */
  insert(record: CommandRecord): number {
    const { seq: _seq, ...row } = toRow(record);
    return Number(this.stmt.insert.run(row).lastInsertRowid);
  }

  /** Writes the changed fields of several commands in one transaction. */
  update(records: readonly CommandRecord[]): void {
    if (records.length === 0) return;
    if (records.length === 1) this.stmt.update.run(toUpdateRow(records[0] as CommandRecord));
    else (this.updateMany as (records: readonly CommandRecord[]) => void)(records);
  }

  get(id: string): CommandRecord | undefined {
    const row = this.stmt.byId.get(id) as Row | undefined;
    return row && fromRow(row);
  }

  byIdempotencyKey(deviceId: string, key: string): CommandRecord | undefined {
    const row = this.stmt.byKey.get(deviceId, key) as Row | undefined;
    return row && fromRow(row);
  }

  /** A device's commands before `beforeSeq`, newest first. */
  page(deviceId: string, limit: number, beforeSeq = Number.MAX_SAFE_INTEGER): CommandRecord[] {
    return (this.stmt.page.all(deviceId, beforeSeq, limit) as Row[]).map(fromRow);
  }

  /** Commands that have not ended, in creation order. */
  loadPending(): CommandRecord[] {
    return (this.stmt.pending.all() as Row[]).map(fromRow);
  }

  /** Removes every command of a device, idempotency keys with them; returns how many. */
  deleteDevice(deviceId: string): number {
    return this.stmt.deleteDevice.run(deviceId).changes;
  }

  /** Every device that has commands stored. */
  deviceIds(): string[] {
    return (this.stmt.deviceIds.all() as { device_id: string }[]).map((r) => r.device_id);
  }

  countByState(): Partial<Record<CommandState, number>> {
    const counts: Partial<Record<CommandState, number>> = {};
    for (const { state, n } of this.stmt.countByState.all() as { state: CommandState; n: number }[]) counts[state] = n;
    return counts;
  }
}

function toRow(r: CommandRecord): Row {
  return {
    seq: r.seq,
    id: r.id,
    device_id: r.deviceId,
    name: r.name,
    params: JSON.stringify(r.params),
    state: r.state,
    transitions: JSON.stringify(r.transitions),
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    timeout_ms: r.timeoutMs,
    expires_at: r.expiresAt,
    sent_at: r.sentAt,
    deliveries: r.deliveries,
    // A device may answer `"result": null`: SQL NULL is "no result", the text 'null' is null.
    result: r.result === undefined ? null : JSON.stringify(r.result),
    error: r.error ?? null,
    late: r.late === undefined ? null : JSON.stringify(r.late),
    issued_by: r.issuedBy,
    idempotency_key: r.idempotencyKey ?? null,
  };
}

/** Only what changes after creation: the hot path writes no more than it must. */
function toUpdateRow(r: CommandRecord): Pick<Row, 'id' | 'state' | 'transitions' | 'updated_at' | 'sent_at' | 'deliveries' | 'result' | 'error' | 'late'> {
  return {
    id: r.id,
    state: r.state,
    transitions: JSON.stringify(r.transitions),
    updated_at: r.updatedAt,
    sent_at: r.sentAt,
    deliveries: r.deliveries,
    result: r.result === undefined ? null : JSON.stringify(r.result),
    error: r.error ?? null,
    late: r.late === undefined ? null : JSON.stringify(r.late),
  };
}

function fromRow(row: Row): CommandRecord {
  const r: CommandRecord = {
    seq: row.seq,
    id: row.id,
    deviceId: row.device_id,
    name: row.name,
    params: JSON.parse(row.params) as Record<string, unknown>,
    state: row.state as CommandState,
    transitions: JSON.parse(row.transitions) as CommandTransition[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    timeoutMs: row.timeout_ms,
    expiresAt: row.expires_at,
    sentAt: row.sent_at,
    deliveries: row.deliveries,
    issuedBy: row.issued_by,
  };
  if (row.result !== null) r.result = JSON.parse(row.result) as unknown;
  if (row.error !== null) r.error = row.error;
  if (row.late !== null) r.late = JSON.parse(row.late) as LateResult[];
  if (row.idempotency_key !== null) r.idempotencyKey = row.idempotency_key;
  return r;
}
