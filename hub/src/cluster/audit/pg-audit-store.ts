/**
 * Audit entries in PostgreSQL, shared by every node: the queries, filters,
 * paging and pruning of SqliteAuditStore. An entry can be written inside the
 * transaction of the change it describes (`insert(entry, tx)`), so the
 * change and its entry commit or vanish together.
 *
 * Ids come from one sequence, in the order nodes insert. A transaction that
 * commits late can make an id appear below a page a reader already passed;
 * such transactions are short (one change and its entry), so a reader who
 * pages right then can miss that entry, never see one twice.
 */
import { ProtocolError, type AuditAction, type AuditEntry } from '@iot-hub/protocol';
import type { AuditQuery, AuditStore, NewAuditEntry } from '../../audit/audit-store.js';
import { StorageUnavailableError, type PgDatabase, type Queryable } from '../pg/pg-database.js';

/** Advisory lock key of pruning: one node prunes at a time, the others skip that round. */
export const AUDIT_PRUNE_LOCK = 0x10_7_0101;

interface Row {
  id: string;
  ts: string;
  actor: string;
  action: string;
  device_id: string | null;
  command_id: string | null;
  details: string;
  outcome: string | null;
}

export class PgAuditStore implements AuditStore<Queryable> {
  /** The pool is the node's, shared with other stores: its owner opens and closes it, and runs the migrations (AUDIT_MIGRATIONS). */
  constructor(private readonly db: PgDatabase) {}

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  async insert(e: NewAuditEntry, tx?: Queryable): Promise<number> {
    const sql = 'INSERT INTO audit_log (ts, actor, action, device_id, command_id, details, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id';
    const params = [e.ts, text(e.actor), e.action, nullable(e.deviceId), nullable(e.commandId), JSON.stringify(e.details), nullable(e.outcome)];
    const result = tx ? await tx.query<{ id: string }>(sql, params) : await this.db.query<{ id: string }>(sql, params);
    return Number(result.rows[0]!.id);
  }

  async setCommandOutcome(commandId: string, outcome: string): Promise<boolean> {
    const result = await this.db.query(
      "UPDATE audit_log SET outcome = $1 WHERE command_id = $2 AND action = 'command.create' AND outcome IS NULL",
      [text(outcome), text(commandId)],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async query(q: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (column: string, op: string, value: string | number | undefined) => {
      if (value === undefined) return;
      args.push(typeof value === 'string' ? text(value) : value);
      where.push(`${column} ${op} $${args.length}`);
    };
    add('device_id', '=', q.deviceId);
    add('actor', '=', q.actor);
    add('action', '=', q.action);
    add('ts', '>=', q.from);
    add('ts', '<=', q.to);
    add('id', '<', q.beforeId);
    args.push(q.limit);
    const sql = `SELECT * FROM audit_log${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`;
    try {
      return (await this.db.query<Row>(sql, args)).rows.map(toEntry);
    } catch (err) {
      // The API's answer: 503, as for every store a node cannot reach.
      if (err instanceof StorageUnavailableError) throw new ProtocolError('storage_unavailable', 'the audit log could not be read');
      throw err;
    }
  }

  async prune(keep: number): Promise<number> {
    const deleted = await this.db.withAdvisoryLock(AUDIT_PRUNE_LOCK, false, async (session) => {
      const result = await session.query('DELETE FROM audit_log WHERE id < (SELECT id FROM audit_log ORDER BY id DESC OFFSET $1 LIMIT 1)', [keep - 1]);
      return result.rowCount ?? 0;
    });
    return deleted ?? 0;
  }
}

/**
 * PostgreSQL text cannot hold U+0000, and a refused request's path may carry
 * one into the device id (`/api/devices/%00/...`): the entry is kept with
 * U+FFFD in its place, and a filter is read the same way, so it finds it.
 */
function text(value: string): string {
  return value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;
}

function nullable(value: string | null): string | null {
  return value === null ? null : text(value);
}

function toEntry(r: Row): AuditEntry {
  return {
    id: Number(r.id),
    ts: Number(r.ts),
    actor: r.actor,
    action: r.action as AuditAction,
    deviceId: r.device_id,
    commandId: r.command_id,
    details: JSON.parse(r.details) as Record<string, unknown>,
    outcome: r.outcome,
  };
}
