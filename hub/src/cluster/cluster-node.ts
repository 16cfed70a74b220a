/**
 * One hub node of a cluster (docs/design.md: cluster mode): its PostgreSQL pool and
 * migrations, its node lease, the node-lost reaper, the Redis bus, and the
 * device claims the gateway asks before a session opens. hub.ts builds the
 * stores on `db` and connects the handlers (ClusterHandlers) once the parts
 * they reach exist.
 *
 * Fencing: a node that cannot renew its lease for TTL/2 drops its device
 * connections, so devices reconnect to a node that can (never a device held
 * by two nodes). Unless every node has lost PostgreSQL: then nobody can claim
 * a device, keeping them is safe, and dropping them all would stop ingest for
 * the length of a database restart. The nodes tell the two apart over the bus:
 * each publishes its last renewal on the database's clock every renewal
 * interval, renewed or not; a node whose peers renewed after it did is the one
 * cut off. Without the bus it cannot tell, and fences: the bus counts as down
 * when the subscriber is, and also when no peer has been heard for
 * 2.5 intervals (a silent network path keeps a subscriber "connected" for as
 * long as its ping takes to fail).
 */
import type { Logger } from 'pino';
import type { PresenceReason, Transport } from '@iot-hub/protocol';
import type { SessionClaims } from '../core/session-claims.js';
import { ALWAYS_KINDS, ON_DEMAND_KINDS, type HubBusEvents, type HubInboxItem } from './bus/bus-messages.js';
import { ClusterBus, type ResyncEvent } from './bus/cluster-bus.js';
import { NodeLease, leaseDatabase } from './ownership/node-lease.js';
import { OwnershipStore } from './ownership/ownership-store.js';
import { Reaper } from './ownership/reaper.js';
import { NODE_LOST } from './ownership/schema.js';
import { migrate } from './pg/migrations.js';
import { PgDatabase } from './pg/pg-database.js';

export interface ClusterNodeOptions {
  nodeId: string;
  pgUrl: string;
  redisUrl: string;
  pgMaxConnections: number;
  leaseTtlMs: number;
  log: Logger;
}

/** What the rest of the hub does for the cluster; set once before start(). */
export interface ClusterHandlers {
  /** A live event another node published. */
  remoteEvent<K extends keyof HubBusEvents>(kind: K, item: HubBusEvents[K], from: string): void;
  /** A request to this node (kick, deliver commands, desired changed, credentials changed). */
  inbox(item: HubInboxItem, from: string): void;
  /** Bus messages may have been lost: dashboards resync, reconcilers run. */
  resync(event: ResyncEvent): void;
  /** Devices whose claims the cluster store ended: the reaper's (a lost node's, `node-lost`), or this node's sessions that ended while it was fenced. */
  offline(devices: readonly { deviceId: string; epoch: number }[], reason: PresenceReason): void;
  /** This node claimed a device another node held: what it kept per device must be reloaded first. */
  claimedFromElsewhere(deviceId: string): Promise<void>;
  /** Drop every device connection (fenced). */
  fence(): void;
  /** The epochs of this node's open sessions, after a rejoin: claims of sessions that ended meanwhile are released. */
  heldEpochs(): Iterable<number>;
}

export type FenceState = 'healthy' | 'holding' | 'fenced';

/** Peers whose renewals are remembered: far more than any cluster has nodes. */
const MAX_PEERS = 256;
/** Without a peer's heartbeat for this many renewal intervals, the bus is taken as down for this node: enough for heartbeats late by two intervals on a loaded machine, and still within TTL/2 plus one interval of a cut. */
const PEER_SILENCE_INTERVALS = 2.5;

export class ClusterNode implements SessionClaims {
  readonly nodeId: string;
  readonly db: PgDatabase;
  readonly bus: ClusterBus;
  readonly ownership: OwnershipStore;
  private readonly leaseDb: PgDatabase;
  private readonly lease: NodeLease;
  private readonly reaper: Reaper;
  private handlers: ClusterHandlers | null = null;
  private fenceState: FenceState = 'healthy';
  private holdTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  /** Each peer's last lease renewal (on the database's clock) and when its heartbeat last arrived (this node's clock). */
  private readonly peers = new Map<string, { renewedAt: number; heardAt: number }>();
  private lastPeerHeardAt = 0;
  readonly counters = { claims: 0, claimsRefused: 0, kicksSent: 0, fences: 0 };

  constructor(private readonly options: ClusterNodeOptions) {
    const { nodeId, log } = options;
    this.nodeId = nodeId;
    this.db = new PgDatabase({ url: options.pgUrl, maxConnections: options.pgMaxConnections, applicationName: `iot-hub:${nodeId}`, log: log.child({ part: 'postgres' }) });
    this.leaseDb = leaseDatabase(options.pgUrl, log.child({ part: 'lease' }), options.leaseTtlMs);
    this.lease = new NodeLease(this.leaseDb, {
      nodeId,
      ttlMs: options.leaseTtlMs,
      onFenced: () => this.leaseLost(),
      onRejoined: () => this.rejoined(),
      log: log.child({ part: 'lease' }),
    });
    this.ownership = new OwnershipStore(this.db, { nodeId, bootId: this.lease.bootId });
    this.reaper = new Reaper(this.db, { ttlMs: options.leaseTtlMs, onLost: (devices) => this.handlers?.offline(devices, NODE_LOST), log: log.child({ part: 'reaper' }) });
    this.bus = new ClusterBus<HubBusEvents, HubInboxItem>({
      redisUrl: options.redisUrl,
      nodeId,
      listen: ALWAYS_KINDS,
      linger: ON_DEMAND_KINDS,
      onEvent: (kind, item, from) => this.remoteEvent(kind, item, from),
      onInbox: (item, from) => this.handlers?.inbox(item, from),
      onResync: (event) => this.handlers?.resync(event),
      log: log.child({ part: 'bus' }),
    });
  }

  setHandlers(handlers: ClusterHandlers): void {
    this.handlers = handlers;
  }

  /** healthy, holding (PostgreSQL unreachable for every node: devices kept), or fenced (devices dropped, /healthz fails). */
  get state(): FenceState {
    return this.fenceState;
  }

  /** Schema first (every node may start at once), then the lease: no device is claimed without one. */
  async start(): Promise<void> {
    await migrate(this.db);
    this.bus.start();
    await this.lease.start();
    this.reaper.start();
    // Also while this node cannot renew: peers holding through a PostgreSQL outage hear that the bus still works.
    this.heartbeatTimer = setInterval(() => {
      this.bus.publish('lease', { renewedAt: this.lease.lastRenewedAt });
      // Peers silent for a whole TTL while this node is fine have left: a lone survivor holds through an outage.
      if (this.lease.state === 'healthy') for (const [id, p] of this.peers) if (Date.now() - p.heardAt > this.options.leaseTtlMs) this.peers.delete(id);
    }, this.lease.renewIntervalMs);
    this.heartbeatTimer.unref();
  }

  /** A clean stop: the lease ends now, so the reaper hands this node's devices on at its next pass. */
  async stop(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.holdTimer) clearInterval(this.holdTimer);
    this.heartbeatTimer = null;
    this.holdTimer = null;
    await this.reaper.stop();
    await this.lease.stop({ expire: true }).catch((err: unknown) => this.options.log.warn({ err }, 'ending the node lease failed: it lapses by itself'));
    await this.bus.stop();
    await this.leaseDb.close();
    await this.db.close();
  }

  /** SessionClaims: claims the device for this node; the node that held it is told to close its older session. */
  async claim(deviceId: string, transport: Transport): Promise<number> {
    if (this.fenceState === 'fenced') {
      this.counters.claimsRefused += 1;
      throw new Error('this node is fenced: it cannot reach the cluster store');
    }
    let claim;
    try {
      claim = await this.ownership.claim(deviceId, Date.now(), transport);
    } catch (err) {
      this.counters.claimsRefused += 1;
      throw err;
    }
    this.counters.claims += 1;
    const previous = claim.previousOwner;
    if (previous && previous.nodeId !== this.nodeId) {
      if (previous.online) {
        this.counters.kicksSent += 1;
        this.bus.send(previous.nodeId, { type: 'kick', deviceId, belowEpoch: claim.epoch });
      }
      await this.handlers?.claimedFromElsewhere(deviceId);
    }
    return claim.epoch;
  }

  /**
   * Tells the node holding the device (if another one does) that there is
   * work for it. A shortcut only: that node's reconcilers find the work too.
   */
  notifyOwner(deviceId: string, item: HubInboxItem): void {
    this.ownership.owner(deviceId).then(
      (row) => {
        if (row?.online && row.nodeId !== this.nodeId) this.bus.send(row.nodeId, item);
      },
      (err: unknown) => this.options.log.debug({ err, deviceId }, 'looking up the owner of a device failed; its node reconciles'),
    );
  }

  release(deviceId: string, epoch: number, reason: PresenceReason): Promise<boolean> {
    return this.ownership.release(deviceId, epoch, reason);
  }

  private remoteEvent<K extends keyof HubBusEvents>(kind: K, item: HubBusEvents[K], from: string): void {
    if (kind === 'lease') {
      if (this.peers.size >= MAX_PEERS && !this.peers.has(from)) return;
      this.lastPeerHeardAt = Date.now();
      this.peers.set(from, { renewedAt: (item as HubBusEvents['lease']).renewedAt, heardAt: this.lastPeerHeardAt });
      return;
    }
    this.handlers?.remoteEvent(kind, item, from);
  }

  /** The lease could not be renewed for TTL/2: fence, unless PostgreSQL is gone for everyone. */
  private leaseLost(): void {
    if (this.lease.state === 'superseded' || this.mustFence()) return this.fence();
    if (this.fenceState === 'holding') return;
    this.fenceState = 'holding';
    this.options.log.error('PostgreSQL is unreachable from every node: device connections are kept, new ones refused, until it is back');
    this.holdTimer = setInterval(() => {
      if (this.mustFence()) this.fence();
    }, this.lease.renewIntervalMs / 4);
    this.holdTimer.unref();
  }

  /** Cut off when the bus is down (or silent) too, or when a peer renewed its lease after this node last could. */
  private mustFence(): boolean {
    if (!this.bus.status().subscriber) return true;
    // Peers were heard once but not lately: the path to Redis is dead though the subscriber does not know yet.
    if (this.peers.size > 0 && Date.now() - this.lastPeerHeardAt > PEER_SILENCE_INTERVALS * this.lease.renewIntervalMs) return true;
    const mine = this.lease.lastRenewedAt;
    for (const { renewedAt } of this.peers.values()) if (renewedAt > mine + this.lease.renewIntervalMs) return true;
    return false;
  }

  private fence(): void {
    if (this.holdTimer) clearInterval(this.holdTimer);
    this.holdTimer = null;
    if (this.fenceState === 'fenced') return;
    this.fenceState = 'fenced';
    this.counters.fences += 1;
    this.options.log.error('node fenced: it cannot renew its lease while other nodes can, or cannot reach Redis either; dropping its device connections');
    this.handlers?.fence();
  }

  private rejoined(): void {
    if (this.holdTimer) clearInterval(this.holdTimer);
    this.holdTimer = null;
    const was = this.fenceState;
    this.fenceState = 'healthy';
    if (was === 'healthy') return;
    this.options.log.warn({ was }, 'node lease renewed: back in the cluster');
    // Sessions that ended while PostgreSQL was away could not release their claims.
    const keep = [...(this.handlers?.heldEpochs() ?? [])];
    this.ownership.releaseOwned('connection-lost', keep).then(
      (released) => this.handlers?.offline(released, 'connection-lost'),
      (err: unknown) => this.options.log.warn({ err }, 'releasing the claims of sessions that ended while fenced failed; the next rejoin or the reaper settles them'),
    );
  }
}
