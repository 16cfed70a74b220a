/**
 * Commands on PostgreSQL: one function per statement, each taking the
 * connection to run on (the pool, or a transaction). Changes are
 * compare-and-set on `version`: an update applies only to the row as it was
 * read, and RETURNING says which rows this caller moved on, so across nodes
 * each change happens once and is announced by whoever made it.
 */
import type { CommandState, CommandTransition, LateResult } from '@iot-hub/protocol';
import type pg from 'pg';
import type { CommandRecord } from '../../commands/command-record.js';

/** The pool or a transaction's client. */
export interface Sql {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** A command as read, with the version an update must find to apply. */
export interface Stored {
  record: CommandRecord;
  version: number;
}

export interface Change {
  prev: Stored;
  next: CommandRecord;
}

/** First key of the per-device transaction lock (the two-int advisory key space, apart from single-key locks). */
const DEVICE_LOCK_CLASS = 0x10_7_0c02;

const PENDING = `('queued', 'sent', 'acknowledged')`;

interface Row {
  seq: string;
  id: string;
  device_id: string;
  name: string;
  params: string;
  state: string;
  transitions: string;
  created_at: string;
  updated_at: string;
  timeout_ms: number;
  expires_at: string;
  sent_at: string | null;
  deliveries: number;
  result: string | null;
  error: string | null;
  late: string | null;
  issued_by: string;
  idempotency_key: string | null;
  version: number;
}

const COLUMNS = 'seq, id, device_id, name, params, state, transitions, created_at, updated_at, timeout_ms, expires_at, sent_at, deliveries, result, error, late, issued_by, idempotency_key, version';

/** Serializes creates for one device across nodes until the transaction ends: the pending cap holds under races. */
export async function lockDevice(sql: Sql, deviceId: string): Promise<void> {
  await sql.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [DEVICE_LOCK_CLASS, deviceId]);
}

/** Inserts a new command; null when its idempotency key is taken (the existing command wins). */
export async function insert(sql: Sql, r: CommandRecord): Promise<Stored | null> {
  const res = await sql.query<Row>(
    `INSERT INTO commands (id, device_id, name, params, state, transitions, created_at, updated_at, timeout_ms, expires_at, sent_at, deliveries, result, error, late, issued_by, idempotency_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
     ON CONFLICT (device_id, idempotency_key) DO NOTHING
     RETURNING ${COLUMNS}`,
    [
      r.id,
      r.deviceId,
      r.name,
      JSON.stringify(r.params),
      r.state,
      JSON.stringify(r.transitions),
      r.createdAt,
      r.updatedAt,
      r.timeoutMs,
      r.expiresAt,
      r.sentAt,
      r.deliveries,
      jsonOrNull(r.result),
      r.error ?? null,
      jsonOrNull(r.late),
      r.issuedBy,
      r.idempotencyKey ?? null,
    ],
  );
  const row = res.rows[0];
  return row ? fromRow(row) : null;
}

/**
 * Writes each change only where the row still has the version it was read
 * with, all in one statement; returns the rows this call changed, as
 * stored now. A change missing from the answer lost to another writer.
 */
export async function compareAndSet(sql: Sql, changes: readonly Change[]): Promise<Stored[]> {
  if (changes.length === 0) return [];
  const col = <T>(f: (c: Change) => T): T[] => changes.map(f);
  const res = await sql.query<Row>(
    `UPDATE commands AS c SET state = u.state, transitions = u.transitions, updated_at = u.updated_at, sent_at = u.sent_at,
       deliveries = u.deliveries, result = u.result, error = u.error, late = u.late, version = c.version + 1
     FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::int[], $8::text[], $9::text[], $10::text[])
       AS u(id, version, state, transitions, updated_at, sent_at, deliveries, result, error, late)
     WHERE c.id = u.id AND c.version = u.version
     RETURNING ${COLUMNS.split(', ').map((c) => `c.${c}`).join(', ')}`,
    [
      col((c) => c.prev.record.id),
      col((c) => c.prev.version),
      col((c) => c.next.state),
      col((c) => JSON.stringify(c.next.transitions)),
      col((c) => c.next.updatedAt),
      col((c) => c.next.sentAt),
      col((c) => c.next.deliveries),
      col((c) => jsonOrNull(c.next.result)),
      col((c) => c.next.error ?? null),
      col((c) => jsonOrNull(c.next.late)),
    ],
  );
  return res.rows.map(fromRow).sort((a, b) => a.record.seq - b.record.seq);
}

export async function byId(sql: Sql, id: string): Promise<Stored | undefined> {
  const res = await sql.query<Row>(`SELECT ${COLUMNS} FROM commands WHERE id = $1`, [id]);
  const row = res.rows[0];
  return row && fromRow(row);
}

export async function byIdempotencyKey(sql: Sql, deviceId: string, key: string): Promise<Stored | undefined> {
  const res = await sql.query<Row>(`SELECT ${COLUMNS} FROM commands WHERE device_id = $1 AND idempotency_key = $2`, [deviceId, key]);
  const row = res.rows[0];
  return row && fromRow(row);
}

/** A device's commands before `beforeSeq`, newest first. */
export async function page(sql: Sql, deviceId: string, limit: number, beforeSeq = Number.MAX_SAFE_INTEGER): Promise<CommandRecord[]> {
  const res = await sql.query<Row>(`SELECT ${COLUMNS} FROM commands WHERE device_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, [deviceId, beforeSeq, limit]);
  return res.rows.map((row) => fromRow(row).record);
}

/** A device's commands that have not ended (or only the queued ones), in creation order. */
export async function pendingOf(sql: Sql, deviceId: string, onlyQueued: boolean): Promise<Stored[]> {
  const where = onlyQueued ? `state = 'queued'` : `state IN ${PENDING}`;
  const res = await sql.query<Row>(`SELECT ${COLUMNS} FROM commands WHERE device_id = $1 AND ${where} ORDER BY seq`, [deviceId]);
  return res.rows.map(fromRow);
}

/** How many of a device's commands have not ended, and how many of those are still queued. */
export async function pendingCounts(sql: Sql, deviceId: string): Promise<{ pending: number; queued: number }> {
  const res = await sql.query<{ pending: string; queued: string }>(
    `SELECT count(*) AS pending, count(*) FILTER (WHERE state = 'queued') AS queued FROM commands WHERE device_id = $1 AND state IN ${PENDING}`,
    [deviceId],
  );
  const row = res.rows[0];
  return { pending: Number(row?.pending ?? 0), queued: Number(row?.queued ?? 0) };
}

/** Pending commands due at `now` or before, the longest overdue first. */
export async function overdueRows(sql: Sql, now: number, limit: number): Promise<Stored[]> {
  const res = await sql.query<Row>(`SELECT ${COLUMNS} FROM commands WHERE due_at <= $1 ORDER BY due_at LIMIT $2`, [now, limit]);
  return res.rows.map(fromRow);
}

/** Devices with queued commands after `after` in id order: the reconciler pages through them. */
export async function devicesWithQueued(sql: Sql, after: string, limit: number): Promise<string[]> {
  const res = await sql.query<{ device_id: string }>(
    `SELECT DISTINCT device_id FROM commands WHERE state = 'queued' AND device_id > $1 ORDER BY device_id LIMIT $2`,
    [after, limit],
  );
  return res.rows.map((r) => r.device_id);
}

export async function countByState(sql: Sql): Promise<Partial<Record<CommandState, number>>> {
  const res = await sql.query<{ state: CommandState; n: string }>('SELECT state, count(*) AS n FROM commands GROUP BY state');
  const counts: Partial<Record<CommandState, number>> = {};
  for (const { state, n } of res.rows) counts[state] = Number(n);
  return counts;
}

/** Removes every command of a device, idempotency keys with them; returns how many. */
export async function deleteDevice(sql: Sql, deviceId: string): Promise<number> {
  const res = await sql.query('DELETE FROM commands WHERE device_id = $1', [deviceId]);
  return res.rowCount ?? 0;
}

/** A device may answer `"result": null`: SQL NULL is "no result", the text 'null' is null. */
function jsonOrNull(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function fromRow(row: Row): Stored {
  const r: CommandRecord = {
    seq: Number(row.seq),
    id: row.id,
    deviceId: row.device_id,
    name: row.name,
    params: JSON.parse(row.params) as Record<string, unknown>,
    state: row.state as CommandState,
    transitions: JSON.parse(row.transitions) as CommandTransition[],
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    timeoutMs: row.timeout_ms,
    expiresAt: Number(row.expires_at),
    sentAt: row.sent_at === null ? null : Number(row.sent_at),
    deliveries: row.deliveries,
    issuedBy: row.issued_by,
  };
  if (row.result !== null) r.result = JSON.parse(row.result) as unknown;
  if (row.error !== null) r.error = row.error;
  if (row.late !== null) r.late = JSON.parse(row.late) as LateResult[];
  if (row.idempotency_key !== null) r.idempotencyKey = row.idempotency_key;
  return { record: r, version: row.version };
}
