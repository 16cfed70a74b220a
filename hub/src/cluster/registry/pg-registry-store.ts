/**
 * The device registry on the cluster's PostgreSQL, shared by every node
 * (docs/design.md: cluster mode). Same contract as SqliteRegistryStore; in
 * addition every change bumps `updated_at` (the database's clock) and a
 * delete leaves a tombstone, so a node's read cache can catch up with
 * changedSince() instead of reloading everything.
 *
 * The schema is REGISTRY_MIGRATIONS, applied by migrate() at start; open()
 * only checks that it is there. The PgDatabase belongs to the caller:
 * close() leaves it open.
 */
import type { Capabilities, Transport } from '@iot-hub/protocol';
import type { PgDatabase } from '../pg/pg-database.js';
import type { DeviceAttributes, DeviceRecord, RegistryStore } from '../../registry/registry-store.js';
import { NOW_MS } from './registry-migrations.js';

/** Tombstones older than this are pruned: a cache further behind must reload (missedDeletions). */
export const TOMBSTONE_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * How far back the next cursor reaches: a change is stamped when its
 * statement touches the row but seen only once it commits, so a change
 * stamped just before a read may commit just after it. Statements are
 * cancelled after PgDatabase's statement timeout (10 s by default), so a
 * change commits within about that of its stamp; re-reading the last 15 s
 * of changes at each poll (idempotent for a cache) misses none.
 */
export const CURSOR_SLACK_MS = 15_000;

/** Devices per saveLastSeen statement: a fleet-wide flush stays well inside the statement timeout. */
const LAST_SEEN_CHUNK = 10_000;

export interface RegistryChanges {
  /** Devices inserted or changed after the cursor, oldest change first. */
  records: DeviceRecord[];
  /** Devices deleted after the cursor and not provisioned again. */
  deletedIds: string[];
  /** What to pass to the next changedSince(). */
  cursor: number;
  /** The cursor predates TOMBSTONE_RETENTION_MS: deletions may be missing, reload with loadAll(). */
  missedDeletions: boolean;
}

interface Row {
  id: string;
  kind: string;
  name: string;
  token_hash: string;
  token_issued_at: string;
  token_revoked_at: string | null;
  created_at: string;
  capabilities: Capabilities | null;
  last_seen: string | null;
  last_transport: string | null;
  room: string | null;
  labels: string[];
}

const COLUMNS = 'id, kind, name, token_hash, token_issued_at, token_revoked_at, created_at, capabilities, last_seen, last_transport, room, labels';

export class PgRegistryStore implements RegistryStore {
  constructor(private readonly db: PgDatabase) {}

  async open(): Promise<void> {
    const found = await this.db.query<{ t: string | null }>("SELECT to_regclass('device_tombstones')::text AS t");
    if (found.rows[0]?.t == null) throw new Error('the registry tables are missing: run the PostgreSQL migrations (migrate) before opening the registry');
  }

  async close(): Promise<void> {}

  async loadAll(): Promise<DeviceRecord[]> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM devices ORDER BY id`);
    return rows.rows.map(toRecord);
  }

  /**
   * What changed after `updatedAfter` (a cursor from an earlier call; 0 for
   * everything), read in one snapshot: apply the records, then the
   * deletions. A device deleted and provisioned again shows as its new
   * record only.
   */
  async changedSince(updatedAfter: number): Promise<RegistryChanges> {
    return this.db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const now = Number((await tx.query<{ now: string }>(`SELECT ${NOW_MS} AS now`)).rows[0]?.now);
      const records = await tx.query<Row>(`SELECT ${COLUMNS} FROM devices WHERE updated_at > $1 ORDER BY updated_at, id`, [updatedAfter]);
      // A device provisioned again after its delete is not deleted: its new record is in `records`.
      const deleted = await tx.query<{ id: string }>(
        'SELECT id FROM device_tombstones t WHERE deleted_at > $1 AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = t.id) ORDER BY deleted_at, id',
        [updatedAfter],
      );
      return {
        records: records.rows.map(toRecord),
        deletedIds: deleted.rows.map((r) => r.id),
        cursor: Math.max(updatedAfter, now - CURSOR_SLACK_MS),
        missedDeletions: updatedAfter < now - TOMBSTONE_RETENTION_MS,
      };
    });
  }

  /** Exactly one of several nodes inserting the same id at once resolves true (the primary key decides). */
  async insert(record: DeviceRecord): Promise<boolean> {
    const result = await this.db.query(
      `INSERT INTO devices (${COLUMNS}, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, ${NOW_MS})
       ON CONFLICT (id) DO NOTHING`,
      [
        record.id,
        record.kind,
        JSON.stringify(record.name),
        record.tokenHash,
        record.tokenIssuedAt,
        record.tokenRevokedAt,
        record.createdAt,
        record.capabilities === null ? null : JSON.stringify(record.capabilities),
        record.lastSeen,
        record.lastTransport,
        record.room === null ? null : JSON.stringify(record.room),
        JSON.stringify(record.labels),
      ],
    );
    return result.rowCount === 1;
  }

  /** Leaves a tombstone for the caches, and prunes those past the retention, in the delete's transaction. */
  async delete(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const gone = await tx.query('DELETE FROM devices WHERE id = $1', [id]);
      if (gone.rowCount !== 1) return false;
      await tx.query(
        `INSERT INTO device_tombstones (id, deleted_at) VALUES ($1, ${NOW_MS})
         ON CONFLICT (id) DO UPDATE SET deleted_at = excluded.deleted_at`,
        [id],
      );
      await tx.query(`DELETE FROM device_tombstones WHERE deleted_at < ${NOW_MS} - $1`, [TOMBSTONE_RETENTION_MS]);
      return true;
    });
  }

  async saveToken(id: string, tokenHash: string, issuedAt: number): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE devices SET token_hash = $2, token_issued_at = $3, token_revoked_at = NULL, updated_at = ${NOW_MS} WHERE id = $1`,
      [id, tokenHash, issuedAt],
    );
    return result.rowCount === 1;
  }

  /** Revoking twice keeps the first time, as Registry does in memory, whichever node revokes second. */
  async revokeToken(id: string, revokedAt: number): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE devices SET token_revoked_at = COALESCE(token_revoked_at, $2), updated_at = ${NOW_MS} WHERE id = $1`,
      [id, revokedAt],
    );
    return result.rowCount === 1;
  }

  async saveAttributes(id: string, attributes: DeviceAttributes): Promise<boolean> {
    const { name, room, labels } = attributes;
    const result = await this.db.query(`UPDATE devices SET name = $2, room = $3, labels = $4, updated_at = ${NOW_MS} WHERE id = $1`, [
      id,
      JSON.stringify(name),
      room === null ? null : JSON.stringify(room),
      JSON.stringify(labels),
    ]);
    return result.rowCount === 1;
  }

  async saveCapabilities(id: string, capabilities: Capabilities): Promise<void> {
    await this.db.query(`UPDATE devices SET capabilities = $2, updated_at = ${NOW_MS} WHERE id = $1`, [id, JSON.stringify(capabilities)]);
  }

  /**
   * Many devices per statement (arrays unnested), in chunks. An entry older
   * than the stored time is skipped: a node that lost a device to another
   * flushes its last time late and must not move it back. The rows are
   * locked in id order first, so two nodes flushing overlapping devices
   * wait for each other instead of deadlocking. Unchanged rows are not
   * written, so they do not show in changedSince().
   */
  async saveLastSeen(entries: readonly { id: string; lastSeen: number; transport: Transport | null }[]): Promise<void> {
    // The last entry of an id wins, as the SQLite store's sequential updates do.
    const byId = new Map<string, { lastSeen: number; transport: Transport | null }>();
    for (const e of entries) byId.set(e.id, e);
    const ids = [...byId.keys()].sort();
    for (let at = 0; at < ids.length; at += LAST_SEEN_CHUNK) {
      const chunk = ids.slice(at, at + LAST_SEEN_CHUNK);
      await this.db.query(
        `WITH u AS (
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(id, last_seen, transport)
         ), locked AS MATERIALIZED (
           SELECT d.id FROM devices d WHERE d.id IN (SELECT id FROM u) ORDER BY d.id FOR UPDATE
         )
         UPDATE devices d SET last_seen = u.last_seen, last_transport = u.transport, updated_at = ${NOW_MS}
         FROM u
         WHERE d.id = u.id AND d.id IN (SELECT id FROM locked)
           AND (d.last_seen IS NULL OR d.last_seen <= u.last_seen)
           AND (d.last_seen, d.last_transport) IS DISTINCT FROM (u.last_seen, u.transport)`,
        [chunk, chunk.map((id) => byId.get(id)?.lastSeen), chunk.map((id) => byId.get(id)?.transport ?? null)],
      );
    }
  }
}

function toRecord(r: Row): DeviceRecord {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    tokenHash: r.token_hash,
    tokenIssuedAt: Number(r.token_issued_at),
    tokenRevokedAt: r.token_revoked_at === null ? null : Number(r.token_revoked_at),
    createdAt: Number(r.created_at),
    capabilities: r.capabilities,
    lastSeen: r.last_seen === null ? null : Number(r.last_seen),
    lastTransport: r.last_transport as Transport | null,
    room: r.room,
    labels: r.labels,
  };
}
