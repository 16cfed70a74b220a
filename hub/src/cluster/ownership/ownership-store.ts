/**
 * Who holds each device, and whether it is online, in PostgreSQL: the one
 * truth every node agrees on (docs/design.md: cluster mode, "device ownership +
 * presence"). One store per node, bound to the node's id and boot.
 *
 * - A connect claims the device: one upsert takes a new epoch from a
 *   sequence and returns the owner it replaced, so the caller can kick that
 *   node's session (the old node closes it only if its epoch is lower).
 * - A disconnect releases it only WHERE the epoch still matches: a node that
 *   lost the device to a later claim can never mark it offline.
 * - A claim needs the node's live lease: a node whose lease lapsed (fenced,
 *   or about to be reaped) takes no device, so it can't claim one that the
 *   reaper then marks lost at once.
 */
import type { PresenceReason, Transport } from '@iot-hub/protocol';
import type { PgDatabase } from '../pg/pg-database.js';
import type { NODE_LOST } from './schema.js';

export type OwnershipReason = PresenceReason | typeof NODE_LOST;

export interface NodeIdentity {
  nodeId: string;
  /** Differs at every start of the node (NodeLease.bootId). */
  bootId: string;
}

export interface PreviousOwner {
  nodeId: string;
  epoch: number;
  /** Whether that owner still had the device online: only then is there a session to kick. */
  online: boolean;
}

export interface Claim {
  epoch: number;
  /** null at the device's first claim ever (or since forget). */
  previousOwner: PreviousOwner | null;
}

/** A device's row: its owner and presence, as the registry shows it. */
export interface PresenceRow {
  deviceId: string;
  nodeId: string;
  bootId: string;
  epoch: number;
  online: boolean;
  reason: OwnershipReason;
  /** When the presence last changed (ms, the clock of the node that changed it). */
  since: number;
  transport: Transport | null;
}

/** The node has no live lease: it must not take devices (refuse the connect, CONNACK 3 / 503). */
export class NodeNotLeasedError extends Error {
  override readonly name = 'NodeNotLeasedError';
}

/** Most devices one claimMany statement takes (bounds the statement and its locks). */
export const MAX_CLAIM_BATCH = 1_000;
/** Most ids one ownersOf statement looks up; longer lists are split. */
const LOOKUP_CHUNK = 5_000;

// The claim upsert. Its rows come from $1 (ids) and $5 (transports); $2/$3 are the node and boot, $4 since.
// ORDER BY takes row locks in one order in every batch, so concurrent batches never deadlock.
// A takeover takes its epoch in DO UPDATE, under the row lock: the one in the SELECT was drawn before
// the lock, so a claim committing after another could carry a LOWER epoch and lose every kick.
const CLAIM_SQL = `
  INSERT INTO device_presence AS p (device_id, node_id, boot_id, epoch, online, reason, since_ms, transport)
  SELECT d.id, $2, $3, nextval('device_owner_epoch'), true, 'connected', $4, d.transport
  FROM unnest($1::text[], $5::text[]) AS d(id, transport)
  WHERE EXISTS (SELECT 1 FROM cluster_nodes n WHERE n.node_id = $2 AND n.boot_id = $3 AND n.expires_at > now())
  ORDER BY d.id
  ON CONFLICT (device_id) DO UPDATE SET
    prev_node_id = p.node_id, prev_epoch = p.epoch, prev_online = p.online,
    node_id = EXCLUDED.node_id, boot_id = EXCLUDED.boot_id, epoch = nextval('device_owner_epoch'),
    online = true, reason = 'connected', since_ms = EXCLUDED.since_ms, transport = EXCLUDED.transport
  RETURNING device_id, epoch, prev_node_id, prev_epoch, prev_online`;

const ROW_COLUMNS = 'device_id, node_id, boot_id, epoch, online, reason, since_ms, transport';

interface ClaimRow {
  device_id: string;
  epoch: string;
  prev_node_id: string | null;
  prev_epoch: string | null;
  prev_online: boolean | null;
}

interface StoredRow {
  device_id: string;
  node_id: string;
  boot_id: string;
  epoch: string;
  online: boolean;
  reason: string;
  since_ms: string;
  transport: string | null;
}

export class OwnershipStore {
  constructor(
    private readonly db: PgDatabase,
    readonly node: NodeIdentity,
  ) {}

  /** Takes the device for this node at its connect. Throws NodeNotLeasedError without a live lease. */
  async claim(deviceId: string, now = Date.now(), transport: Transport | null = null): Promise<Claim> {
    const claims = await this.claimMany([{ deviceId, transport }], now);
    return claims.get(deviceId)!;
  }

  /**
   * Takes several devices in one statement (a burst of connects): one
   * round trip and one commit for all. Device ids must be distinct (a
   * device connecting twice in one burst is claimed twice, in order).
   */
  async claimMany(claims: readonly { deviceId: string; transport?: Transport | null }[], now = Date.now()): Promise<Map<string, Claim>> {
    if (claims.length > MAX_CLAIM_BATCH) throw new RangeError(`claimMany takes at most ${MAX_CLAIM_BATCH} devices, got ${claims.length}`);
    const ids = claims.map((c) => c.deviceId);
    if (new Set(ids).size !== ids.length) throw new TypeError('claimMany needs distinct device ids');
    const result = new Map<string, Claim>();
    if (claims.length === 0) return result;
    const transports = claims.map((c) => c.transport ?? null);
    const rows = await this.db.query<ClaimRow>(CLAIM_SQL, [ids, this.node.nodeId, this.node.bootId, now, transports]);
    if (rows.rows.length === 0) throw new NodeNotLeasedError(`node ${this.node.nodeId} has no live lease: it takes no device`);
    for (const r of rows.rows) {
      const previousOwner = r.prev_node_id === null ? null : { nodeId: r.prev_node_id, epoch: Number(r.prev_epoch), online: r.prev_online === true };
      result.set(r.device_id, { epoch: Number(r.epoch), previousOwner });
    }
    return result;
  }

  /**
   * Marks the device offline at its disconnect, only if `epoch` is still its
   * ownership (no later claim, here or on another node). True if it did.
   */
  async release(deviceId: string, epoch: number, reason: OwnershipReason, now = Date.now()): Promise<boolean> {
    const r = await this.db.query('UPDATE device_presence SET online = false, reason = $3, since_ms = $4 WHERE device_id = $1 AND epoch = $2 AND online', [
      deviceId,
      epoch,
      reason,
      now,
    ]);
    return r.rowCount === 1;
  }

  /**
   * Marks offline every device this node's boot still owns online except
   * those of `keepEpochs` (its live sessions): after the node was fenced
   * and dropped its sockets while the releases could not reach PostgreSQL,
   * and as a periodic audit. Returns the devices it marked.
   */
  async releaseOwned(reason: OwnershipReason, keepEpochs: Iterable<number>, now = Date.now()): Promise<{ deviceId: string; epoch: number }[]> {
    const keep = [...keepEpochs];
    const r = await this.db.query<{ device_id: string; epoch: string }>(
      `UPDATE device_presence SET online = false, reason = $3, since_ms = $4
       WHERE node_id = $1 AND boot_id = $2 AND online AND NOT (epoch = ANY($5::bigint[]))
       RETURNING device_id, epoch`,
      [this.node.nodeId, this.node.bootId, reason, now, keep],
    );
    return r.rows.map((row) => ({ deviceId: row.device_id, epoch: Number(row.epoch) }));
  }

  /** The devices this node's boot owns online, with their epochs (to audit its sessions against). */
  async owned(): Promise<Map<string, number>> {
    const r = await this.db.query<{ device_id: string; epoch: string }>('SELECT device_id, epoch FROM device_presence WHERE node_id = $1 AND boot_id = $2 AND online', [
      this.node.nodeId,
      this.node.bootId,
    ]);
    return new Map(r.rows.map((row) => [row.device_id, Number(row.epoch)]));
  }

  /** The device's owner and presence; null if it never connected. */
  async owner(deviceId: string): Promise<PresenceRow | null> {
    const r = await this.db.query<StoredRow>(`SELECT ${ROW_COLUMNS} FROM device_presence WHERE device_id = $1`, [deviceId]);
    return r.rows[0] ? toPresence(r.rows[0]) : null;
  }

  /** Owners of several devices (routing commands): devices that never connected are absent. */
  async ownersOf(deviceIds: readonly string[]): Promise<Map<string, PresenceRow>> {
    const owners = new Map<string, PresenceRow>();
    for (let i = 0; i < deviceIds.length; i += LOOKUP_CHUNK) {
      const chunk = deviceIds.slice(i, i + LOOKUP_CHUNK);
      const r = await this.db.query<StoredRow>(`SELECT ${ROW_COLUMNS} FROM device_presence WHERE device_id = ANY($1::text[])`, [chunk]);
      for (const row of r.rows) owners.set(row.device_id, toPresence(row));
    }
    return owners;
  }

  /** Every device's row (the registry loads them at start). */
  async all(): Promise<PresenceRow[]> {
    const r = await this.db.query<StoredRow>(`SELECT ${ROW_COLUMNS} FROM device_presence`);
    return r.rows.map(toPresence);
  }

  /** The device was deleted: its row goes (a device created again under the id starts with no previous owner). */
  async forget(deviceId: string): Promise<void> {
    await this.db.query('DELETE FROM device_presence WHERE device_id = $1', [deviceId]);
  }
}

function toPresence(row: StoredRow): PresenceRow {
  return {
    deviceId: row.device_id,
    nodeId: row.node_id,
    bootId: row.boot_id,
    epoch: Number(row.epoch),
    online: row.online,
    reason: row.reason as OwnershipReason,
    since: Number(row.since_ms),
    transport: row.transport as Transport | null,
  };
}
