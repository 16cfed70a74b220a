/**
 * This node's lease in `cluster_nodes` (docs/design.md: cluster mode, "node
 * liveness"): renewed every TTL/5 to expire TTL after the DATABASE's now(),
 * so no node's clock matters. While the lease lives the node's devices are
 * its own; once it expires the reaper marks them `offline / node-lost`.
 *
 * A node that could not renew for TTL/2 fences itself (onFenced: the hub
 * drops every device socket and fails /healthz) well before anyone else
 * may consider its lease expired; onRejoined when a renewal works again.
 * The TTL/2 is counted from when the last successful renewal was SENT, on
 * this node's monotonic clock: the database set the expiry no earlier than
 * that, so the node always fences before its lease can lapse.
 *
 * Give the lease its own PgDatabase (leaseDatabase): renewals must not wait
 * behind a busy pool, and its query timeout frees a connection that hangs
 * on a stalled or unreachable server so the next renewal can try afresh.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { PgDatabase } from '../pg/pg-database.js';

export const DEFAULT_LEASE_TTL_MS = 10_000;

export type LeaseState = 'idle' | 'healthy' | 'fenced' | 'superseded' | 'stopped';

export interface NodeLeaseOptions {
  nodeId: string;
  /** Default: a new random id per start of the process. */
  bootId?: string;
  /** Default 10 s. Renewals every TTL/5, fenced after TTL/2 without one. */
  ttlMs?: number;
  /** Could not renew for TTL/2 (or the node id was taken by a newer boot): drop device sockets, fail /healthz. */
  onFenced?: () => void;
  /** A renewal worked again after onFenced. */
  onRejoined?: () => void;
  log: Logger;
}

/** A pool for the lease alone: one connection, queries bounded by the renewal interval. */
export function leaseDatabase(url: string, log: Logger, ttlMs = DEFAULT_LEASE_TTL_MS): PgDatabase {
  const interval = ttlMs / 5;
  return new PgDatabase({ url, log, maxConnections: 1, connectTimeoutMs: interval, queryTimeoutMs: interval, applicationName: 'iot-hub-lease' });
}

export class NodeLease {
  readonly nodeId: string;
  readonly bootId: string;
  readonly ttlMs: number;
  private currentState: LeaseState = 'idle';
  private renewTimer: NodeJS.Timeout | null = null;
  private fenceTimer: NodeJS.Timeout | null = null;
  private renewing = false;
  /** The database's clock (ms) at this node's last successful renewal; 0 before the first. */
  private renewedAtDb = 0;

  constructor(
    private readonly db: PgDatabase,
    private readonly options: NodeLeaseOptions,
  ) {
    this.nodeId = options.nodeId;
    this.bootId = options.bootId ?? randomUUID();
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    if (!(this.ttlMs >= 100)) throw new RangeError(`lease TTL must be at least 100 ms, got ${this.ttlMs}`);
  }

  get state(): LeaseState {
    return this.currentState;
  }

  /** The database's clock (ms) at the last successful renewal: peers compare it to tell "PostgreSQL is down" from "this node is cut off". */
  get lastRenewedAt(): number {
    return this.renewedAtDb;
  }

  get renewIntervalMs(): number {
    return this.ttlMs / 5;
  }

  /**
   * Takes the node's lease, from an earlier boot of the same node id too
   * (that boot's devices count as lost from now on), and starts renewing.
   * Throws StorageUnavailableError if PostgreSQL can't be reached.
   */
  async start(): Promise<void> {
    if (this.currentState !== 'idle') throw new Error(`the lease of ${this.nodeId} was already started`);
    const sentAt = performance.now();
    const previous = await this.db.query<{ boot_id: string | null; db_ms: number }>(
      `INSERT INTO cluster_nodes AS n (node_id, boot_id, started_at, renewed_at, expires_at)
       VALUES ($1, $2, now(), now(), now() + make_interval(secs => $3))
       ON CONFLICT (node_id) DO UPDATE SET boot_id = EXCLUDED.boot_id, started_at = now(), renewed_at = now(), expires_at = EXCLUDED.expires_at
       RETURNING (SELECT boot_id FROM cluster_nodes WHERE node_id = $1) AS boot_id, (extract(epoch FROM now()) * 1000)::float8 AS db_ms`,
      [this.nodeId, this.bootId, this.ttlMs / 1000],
    );
    const oldBoot = previous.rows[0]?.boot_id ?? null;
    this.renewedAtDb = previous.rows[0]?.db_ms ?? 0;
    if (oldBoot !== null && oldBoot !== this.bootId) this.options.log.info({ nodeId: this.nodeId }, 'took over the lease of an earlier boot of this node: its devices count as lost');
    this.currentState = 'healthy';
    this.armFence(sentAt);
    this.renewTimer = setInterval(() => void this.renew(), this.renewIntervalMs);
    this.renewTimer.unref();
  }

  /**
   * Stops renewing. The lease then lapses at its expiry as a crashed node's
   * would; with `expire` it ends now, so the reaper takes the devices this
   * node still holds at its next pass (a clean shutdown).
   */
  async stop(options: { expire?: boolean } = {}): Promise<void> {
    this.clearTimers();
    const wasLive = this.currentState === 'healthy' || this.currentState === 'fenced';
    this.currentState = 'stopped';
    if (options.expire && wasLive) {
      await this.db.query('UPDATE cluster_nodes SET expires_at = now() WHERE node_id = $1 AND boot_id = $2', [this.nodeId, this.bootId]);
    }
  }

  /** One renewal; a slow one is not overlapped (the lease pool's query timeout ends it). */
  private async renew(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    const sentAt = performance.now();
    try {
      const r = await this.db.query<{ db_ms: number }>(
        `UPDATE cluster_nodes SET renewed_at = now(), expires_at = now() + make_interval(secs => $3)
         WHERE node_id = $1 AND boot_id = $2 RETURNING (extract(epoch FROM now()) * 1000)::float8 AS db_ms`,
        [this.nodeId, this.bootId, this.ttlMs / 1000],
      );
      if (this.currentState !== 'healthy' && this.currentState !== 'fenced') return;
      if (r.rowCount === 0) return this.superseded();
      this.renewedAtDb = r.rows[0]?.db_ms ?? this.renewedAtDb;
      this.armFence(sentAt);
      if (this.currentState === 'fenced') {
        this.currentState = 'healthy';
        this.options.log.warn({ nodeId: this.nodeId }, 'node lease renewed again: rejoined the cluster');
        this.options.onRejoined?.();
      }
    } catch (err) {
      this.options.log.warn({ nodeId: this.nodeId, err: (err as Error).message }, 'renewing the node lease failed');
    } finally {
      this.renewing = false;
    }
  }

  /** Fences the node TTL/2 after `sentAt` unless a later renewal succeeds first. */
  private armFence(sentAt: number): void {
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    const wait = Math.max(0, sentAt + this.ttlMs / 2 - performance.now());
    this.fenceTimer = setTimeout(() => this.fence('could not renew the node lease for TTL/2'), wait);
    this.fenceTimer.unref();
  }

  private fence(why: string): void {
    this.fenceTimer = null;
    if (this.currentState !== 'healthy') return;
    this.currentState = 'fenced';
    this.options.log.error({ nodeId: this.nodeId, ttlMs: this.ttlMs }, `node fenced: ${why}`);
    this.options.onFenced?.();
  }

  /** A newer boot of the same node id took the lease: this process must hold no device any more, for good. */
  private superseded(): void {
    const wasHealthy = this.currentState === 'healthy';
    this.clearTimers();
    this.currentState = 'superseded';
    this.options.log.error({ nodeId: this.nodeId }, 'node fenced for good: another process started with this node id and took its lease');
    if (wasHealthy) this.options.onFenced?.();
  }

  private clearTimers(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    this.renewTimer = null;
    this.fenceTimer = null;
  }
}
