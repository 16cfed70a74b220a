/**
 * The seq windows of each device's boots [FP-4.2] on the cluster's
 * PostgreSQL, so a sample resent to another node (the device reconnected
 * through the balancer after a node died or it moved) is still taken for the
 * duplicate it is. Same semantics as SqliteSeqWindowStore: only committed
 * seqs are stored (the Registry hands over committedRuns()), a device's
 * rows go with it (ON DELETE CASCADE from devices), a device holds at most
 * MAX_BOOT_WINDOWS boots when loaded.
 *
 * Across nodes:
 * - loadDevice() reads one device's windows: the node that takes a device
 *   over replaces what it held in memory for it with them. Seqs the old
 *   node committed in its last persist interval (SEQ_PERSIST_MS) before
 *   losing the device may not be there yet: their resends may be stored
 *   twice, the same bound as after a hub crash.
 * - A window is replaced only by one used at least as recently, so the late
 *   persist of a node that lost the device cannot overwrite what the new
 *   owner saved.
 * - Rows of a device that no longer exists (deleted on another node) are
 *   skipped, not an error: one such device cannot fail every node's batch.
 */
import { MAX_BOOT_WINDOWS } from '@iot-hub/protocol';
import type { PgDatabase, Queryable } from '../pg/pg-database.js';
import type { BootKey } from '../../telemetry/seq-windows.js';
import type { SeqWindowChanges, SeqWindowStore, StoredSeqWindow } from '../../registry/sqlite-seq-window-store.js';

/** SeqWindowStore with every method resolving once PostgreSQL has committed. */
export type AsyncSeqWindowStore = {
  [K in keyof SeqWindowStore]: (...args: Parameters<SeqWindowStore[K]>) => Promise<Awaited<ReturnType<SeqWindowStore[K]>>>;
};

export interface DeviceSeqWindows {
  /** The boot of the device's last hello; null when it names none. */
  current: BootKey | null;
  /** Least recently used first, at most MAX_BOOT_WINDOWS. */
  windows: StoredSeqWindow[];
}

interface Row {
  device_id: string;
  boot: string;
  used_at: string;
  last_seq: string;
  runs: number[];
}

/** Each device's MAX_BOOT_WINDOWS most recent windows, least recently used first ($1: the bound). */
const WINDOWS_SQL = `
  SELECT device_id, boot, used_at, last_seq, runs FROM (
    SELECT *, row_number() OVER (PARTITION BY device_id ORDER BY used_at DESC) AS recent FROM seq_windows %WHERE%
  ) w WHERE recent <= $1 ORDER BY device_id, used_at`;

export class PgSeqWindowStore implements AsyncSeqWindowStore {
  constructor(private readonly db: PgDatabase) {}

  async open(): Promise<void> {
    const found = await this.db.query<{ t: string | null }>("SELECT to_regclass('device_boots')::text AS t");
    if (found.rows[0]?.t == null) throw new Error('the seq window tables are missing: run the PostgreSQL migrations (migrate) before opening the registry');
  }

  async close(): Promise<void> {}

  async loadAll(): Promise<{ current: Map<string, BootKey>; windows: StoredSeqWindow[] }> {
    return this.db.transaction(async (tx) => {
      // One snapshot: a boot and its windows as one node left them.
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const current = new Map<string, BootKey>();
      for (const r of (await tx.query<{ device_id: string; boot: string }>('SELECT device_id, boot FROM device_boots')).rows) current.set(r.device_id, decodeBoot(r.boot));
      const windows = await tx.query<Row>(WINDOWS_SQL.replace('%WHERE%', ''), [MAX_BOOT_WINDOWS]);
      return { current, windows: windows.rows.map(toWindow) };
    });
  }

  /**
   * One device's boot and windows: what a node loads when the device
   * connects to it. Two statements, not a transaction (this is on every
   * connect): the boot and the windows are saved independently anyway.
   */
  async loadDevice(deviceId: string): Promise<DeviceSeqWindows> {
    const [boot, windows] = await Promise.all([
      this.db.query<{ boot: string }>('SELECT boot FROM device_boots WHERE device_id = $1', [deviceId]),
      this.db.query<Row>(WINDOWS_SQL.replace('%WHERE%', 'WHERE device_id = $2'), [MAX_BOOT_WINDOWS, deviceId]),
    ]);
    const current = boot.rows[0];
    return { current: current ? decodeBoot(current.boot) : null, windows: windows.rows.map(toWindow) };
  }

  /** Resolves once committed: the caller acknowledges the hello after it. A device that no longer exists is skipped. */
  async saveCurrentBoot(deviceId: string, boot: BootKey | null): Promise<void> {
    if (boot === null) {
      await this.db.query('DELETE FROM device_boots WHERE device_id = $1', [deviceId]);
      return;
    }
    await this.db.query(
      `INSERT INTO device_boots (device_id, boot)
       SELECT id, $2 FROM devices WHERE id = $1 FOR KEY SHARE
       ON CONFLICT (device_id) DO UPDATE SET boot = excluded.boot`,
      [deviceId, encodeBoot(boot)],
    );
  }

  /** Deletes, then upserts, in one transaction, many windows per statement. */
  async save(changes: SeqWindowChanges): Promise<void> {
    if (changes.upserts.length === 0 && changes.deletes.length === 0) return;
    await this.db.transaction(async (tx) => {
      if (changes.deletes.length > 0) await deleteWindows(tx, changes.deletes);
      if (changes.upserts.length > 0) await upsertWindows(tx, changes.upserts);
    });
  }

  async deleteDevice(deviceId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM seq_windows WHERE device_id = $1', [deviceId]);
      await tx.query('DELETE FROM device_boots WHERE device_id = $1', [deviceId]);
    });
  }
}

async function deleteWindows(tx: Queryable, deletes: SeqWindowChanges['deletes']): Promise<void> {
  await tx.query(
    `DELETE FROM seq_windows s USING unnest($1::text[], $2::text[]) AS u(device_id, boot)
     WHERE s.device_id = u.device_id AND s.boot = u.boot`,
    [deletes.map((d) => d.deviceId), deletes.map((d) => encodeBoot(d.boot))],
  );
}

/**
 * The devices are share-locked (in id order) before their windows are
 * written: a delete on another node waits for this transaction or has
 * already removed the device, whose windows are then skipped.
 */
async function upsertWindows(tx: Queryable, upserts: readonly StoredSeqWindow[]): Promise<void> {
  // One row per key: ON CONFLICT may not touch a row twice in one statement. The last wins.
  const byKey = new Map<string, StoredSeqWindow>();
  for (const w of upserts) byKey.set(JSON.stringify([w.deviceId, w.boot]), w);
  const rows = [...byKey.values()];
  await tx.query(
    `WITH u AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[]) AS u(device_id, boot, used_at, last_seq, runs)
     ), present AS MATERIALIZED (
       SELECT id FROM devices WHERE id IN (SELECT device_id FROM u) ORDER BY id FOR KEY SHARE
     )
     INSERT INTO seq_windows (device_id, boot, used_at, last_seq, runs)
     SELECT u.device_id, u.boot, u.used_at, u.last_seq, u.runs::json FROM u JOIN present p ON p.id = u.device_id
     ORDER BY u.device_id, u.boot
     ON CONFLICT (device_id, boot) DO UPDATE SET used_at = excluded.used_at, last_seq = excluded.last_seq, runs = excluded.runs
     WHERE seq_windows.used_at <= excluded.used_at`,
    [
      rows.map((w) => w.deviceId),
      rows.map((w) => encodeBoot(w.boot)),
      rows.map((w) => w.usedAt),
      rows.map((w) => w.last),
      rows.map((w) => JSON.stringify(w.runs)),
    ],
  );
}

/** A boot key is device-supplied: as a JSON string literal it is plain text PostgreSQL stores (no NUL, no lone surrogate), and equal keys stay equal. */
function encodeBoot(boot: BootKey): string {
  return JSON.stringify(boot);
}

function decodeBoot(stored: string): BootKey {
  return JSON.parse(stored) as BootKey;
}

function toWindow(r: Row): StoredSeqWindow {
  return { deviceId: r.device_id, boot: decodeBoot(r.boot), usedAt: Number(r.used_at), last: Number(r.last_seq), runs: r.runs };
}
