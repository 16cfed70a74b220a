/**
 * Marks `offline / node-lost` the devices whose owner node's lease expired
 * (docs/design.md: cluster mode, "node liveness"). Every node runs one; an advisory
 * lock taken without waiting lets one pass run at a time in the cluster.
 *
 * Two guards keep it from marking devices that are in fact connected:
 * - it marks a row only if its epoch is still the one it found lost
 *   (compare-and-set): a device that reconnected elsewhere meanwhile keeps
 *   its new claim;
 * - it marks nothing until TTL after it first saw this PostgreSQL instance
 *   answer: while the database was away no node could renew, so every
 *   lease may have lapsed; live nodes renew within TTL/5 of its return, and
 *   only leases still expired after that are dead nodes. The instance is
 *   told apart by pg_postmaster_start_time(), but TTL is not counted from
 *   that time: it is stamped before crash recovery, which can outlast TTL
 *   (measured here: 8 s between it and the first answer after a kill -9).
 *   Any failed pass starts the count again, so does this reaper's start.
 */
import type { Logger } from 'pino';
import type { PgDatabase, Queryable } from '../pg/pg-database.js';
import { DEFAULT_LEASE_TTL_MS } from './node-lease.js';
import { NODE_LOST, REAPER_LOCK } from './schema.js';

export interface LostDevice {
  deviceId: string;
  /** The node whose lease expired. */
  nodeId: string;
  epoch: number;
  /** When it was marked (ms, this node's clock), the presence's `since`. */
  since: number;
}

export interface ReaperOptions {
  /** The cluster's lease TTL (NodeLease's); passes run every TTL/2. */
  ttlMs?: number;
  /** The devices one pass marked, in batches; the caller publishes their presence events. */
  onLost?: (devices: LostDevice[]) => void;
  log: Logger;
}

/** Rows marked per statement: a node with many devices is marked in several short statements. */
const REAP_BATCH = 2_000;

// $1 since (ms), $2 batch size. The epoch in the join is the compare-and-set.
const REAP_SQL = `
  WITH live AS (SELECT node_id, boot_id FROM cluster_nodes WHERE expires_at > now()),
  lost AS (
    SELECT p.device_id, p.epoch FROM device_presence p
    WHERE p.online
      AND NOT EXISTS (SELECT 1 FROM live WHERE live.node_id = p.node_id AND live.boot_id = p.boot_id)
    LIMIT $2
  )
  UPDATE device_presence p SET online = false, reason = '${NODE_LOST}', since_ms = $1
  FROM lost
  WHERE p.device_id = lost.device_id AND p.epoch = lost.epoch AND p.online
  RETURNING p.device_id, p.node_id, p.epoch`;

export class Reaper {
  readonly ttlMs: number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  /** The PostgreSQL instance this reaper last saw (its postmaster start time) and since when, on this node's monotonic clock. */
  private seen: { instance: string; since: number } | null = null;

  constructor(
    private readonly db: PgDatabase,
    private readonly options: ReaperOptions,
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  }

  get intervalMs(): number {
    return this.ttlMs / 2;
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.reapOnce()
        .catch((err: Error) => this.options.log.warn({ err: err.message }, 'reaping devices of lost nodes failed'))
        .finally(() => (this.running = null));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the passes; resolves once a pass under way has ended. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /**
   * One pass: the devices it marked (none while the restart guard holds),
   * or null if another node's pass holds the lock. Throws
   * StorageUnavailableError if PostgreSQL can't be reached.
   */
  async reapOnce(now = Date.now()): Promise<LostDevice[] | null> {
    try {
      return await this.db.withAdvisoryLock(REAPER_LOCK, false, async (session) => ((await this.settled(session)) ? this.reap(session, now) : []));
    } catch (err) {
      this.seen = null;
      throw err;
    }
  }

  /** Whether this PostgreSQL instance has answered this reaper for TTL (on the session the pass then uses). */
  private async settled(session: Queryable): Promise<boolean> {
    const r = await session.query<{ instance: string }>('SELECT pg_postmaster_start_time()::text AS instance');
    const instance = r.rows[0]!.instance;
    if (this.seen?.instance !== instance) {
      if (this.seen) this.options.log.warn({ ttlMs: this.ttlMs }, 'PostgreSQL restarted: no device is marked node-lost for TTL while live nodes renew');
      this.seen = { instance, since: performance.now() };
    }
    return performance.now() - this.seen.since >= this.ttlMs;
  }

  private async reap(session: Queryable, now: number): Promise<LostDevice[]> {
    const all: LostDevice[] = [];
    for (;;) {
      const r = await session.query<{ device_id: string; node_id: string; epoch: string }>(REAP_SQL, [now, REAP_BATCH]);
      const batch = r.rows.map((row) => ({ deviceId: row.device_id, nodeId: row.node_id, epoch: Number(row.epoch), since: now }));
      if (batch.length > 0) {
        this.options.log.info({ devices: batch.length, nodes: [...new Set(batch.map((d) => d.nodeId))].slice(0, 10) }, 'marked devices of lost nodes offline');
        try {
          this.options.onLost?.(batch);
        } catch (err) {
          // The rows are committed: a failing listener must not stop the rest being marked.
          this.options.log.error({ err }, 'publishing devices of lost nodes failed');
        }
        all.push(...batch);
      }
      // A short batch: none left (or some reconnected meanwhile); any rest is taken at the next pass.
      if (r.rows.length < REAP_BATCH) return all;
    }
  }
}
