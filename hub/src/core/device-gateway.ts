/**
 * The core's door for devices: transports authenticate through it and open a
 * session per connection. It keeps one session per device (a newer
 * connection replaces the older one) and closes devices that went silent
 * past their declared heartbeat [FP-6].
 */
import { HEARTBEAT_GRACE_FACTOR, type ErrorCode, type Transport } from '@iot-hub/protocol';
import type { DeviceEntry, Registry } from '../registry/registry.js';
import type { CloseReason, DeviceLink } from './device-link.js';
import type { ControlChannel } from './device-inbox.js';
import { DeviceSession, type MessageCounts, type SessionDeps } from './device-session.js';
import { tapLink } from './message-tap.js';

const PRESENCE_SWEEP_MS = 1_000;
/** Cluster mode: how long a kick is remembered for a claim still on its way, and for how many devices at most. */
const KICK_MEMORY_MS = 60_000;
const MAX_REMEMBERED_KICKS = 10_000;
/** Cluster mode: refused credentials cause a registry read at most this often: a flood of bad tokens costs PostgreSQL one read a second. */
const REFRESH_GAP_MS = 1_000;

export class DeviceGateway {
  private readonly sessions = new Map<string, DeviceSession>();
  /** Cluster mode: kicks that found no session yet, by device (a claim of ours may still be on its way). */
  private readonly recentKicks = new Map<string, { belowEpoch: number; at: number }>();
  /** Cluster mode: the registry read in flight for refused credentials, and when the last began. */
  private refreshing: Promise<void> | null = null;
  private lastRefreshAt = -Infinity;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly deps: SessionDeps;
  /** Device protocol errors since start, by code (for /metrics). */
  readonly errorCounts = new Map<ErrorCode, number>();
  /** Device → hub messages handled and hub → device messages sent since start, by transport (for /metrics). */
  readonly messageCounts: MessageCounts = { in: { mqtt: 0, ws: 0 }, out: { mqtt: 0, ws: 0 } };

  constructor(deps: SessionDeps) {
    this.deps = { ...deps, messageCounts: this.messageCounts, countError: (code) => this.errorCounts.set(code, (this.errorCounts.get(code) ?? 0) + 1) };
  }

  private get registry(): Registry {
    return this.deps.registry;
  }

  start(): void {
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), PRESENCE_SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Closes every device connection; transports end the sessions as sockets close. */
  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    for (const session of this.sessions.values()) session.close('shutdown');
  }

  authenticate(deviceId: string, token: string): DeviceEntry | null {
    return this.registry.authenticate(deviceId, token);
  }

  /**
   * After authenticate() said no. In cluster mode a device provisioned, or
   * given a new token, on another node a moment ago may not be in this
   * node's copy of the registry yet: it is read from the shared store once
   * (refreshes are shared, so a flood of bad credentials costs one read at a
   * time) and checked again. On one hub `then(null)` runs at once.
   */
  authenticateAfterRefresh(deviceId: string, token: string, then: (entry: DeviceEntry | null) => void, now = Date.now()): void {
    const refresh = this.deps.refreshRegistry;
    if (!refresh) return then(null);
    // Anyone can send bad credentials: one read at a time, shared by every waiting device, and at
    // most one per REFRESH_GAP_MS; a read asked for sooner waits for its turn.
    if (!this.refreshing) {
      const wait = Math.max(0, this.lastRefreshAt + REFRESH_GAP_MS - now);
      this.refreshing = new Promise<void>((resolve) => setTimeout(resolve, wait))
        .then(() => {
          this.lastRefreshAt = Date.now();
          return refresh();
        })
        .finally(() => (this.refreshing = null));
    }
    this.refreshing.then(
      () => then(this.registry.authenticate(deviceId, token)),
      () => then(null),
    );
  }

  /**
   * Admits an authenticated device before its session opens. On one hub
   * `accept(0)` runs at once, in this call; in cluster mode once this node's
   * claim is stored (its epoch), or `refuse` when the claim store is
   * unreachable. `stillThere` is asked after the claim: a connection that
   * went meanwhile gives its claim back at once.
   */
  admit(entry: DeviceEntry, transport: Transport, stillThere: () => boolean, accept: (epoch: number) => void, refuse: (err: unknown) => void): void {
    const claims = this.deps.claims;
    if (!claims) return accept(0);
    const id = entry.record.id;
    claims.claim(id, transport).then(
      (epoch) => {
        const kicked = this.recentKicks.get(id);
        // Another node claimed the device after us, and its kick came before our claim's answer.
        if (kicked && kicked.belowEpoch > epoch) return refuse(new Error(`device ${id} was claimed by another node meanwhile`));
        if (stillThere()) return accept(epoch);
        claims.release(id, epoch, 'connection-lost').catch(() => undefined);
      },
      refuse,
    );
  }

  /**
   * Cluster mode: another node claimed the device with `epoch`; a session
   * here with an older claim closes without marking the device offline.
   */
  claimedElsewhere(deviceId: string, epoch: number, now = Date.now()): void {
    this.rememberKick(deviceId, epoch, now);
    const session = this.sessions.get(deviceId);
    if (!session || session.epoch >= epoch) return;
    session.replaced = true;
    this.sessions.delete(deviceId);
    session.close('replaced');
  }

  /** Cluster mode: the epochs of the open sessions' claims. */
  heldEpochs(): number[] {
    return [...this.sessions.values()].map((s) => s.epoch);
  }

  /** Cluster mode, fenced: every device connection closes; the devices reconnect to a node that can hold them. */
  dropAll(): void {
    for (const session of this.sessions.values()) session.close('shutdown');
  }

  private rememberKick(deviceId: string, belowEpoch: number, now: number): void {
    for (const [id, kick] of this.recentKicks) {
      if (now - kick.at < KICK_MEMORY_MS && this.recentKicks.size < MAX_REMEMBERED_KICKS) break;
      this.recentKicks.delete(id);
    }
    const known = this.recentKicks.get(deviceId);
    if (known && known.belowEpoch >= belowEpoch) return;
    this.recentKicks.delete(deviceId);
    this.recentKicks.set(deviceId, { belowEpoch, at: now });
  }

  /** Starts a session for an authenticated device, replacing its previous connection. */
  open(entry: DeviceEntry, link: DeviceLink, epoch = 0): DeviceSession {
    const id = entry.record.id;
    const previous = this.sessions.get(id);
    const session = new DeviceSession(entry, tapLink(id, link, this.deps.events, this.messageCounts.out), this.deps, (s) => {
      if (this.sessions.get(id) === s) this.sessions.delete(id);
    });
    session.epoch = epoch;
    this.sessions.set(id, session);
    if (previous && !previous.isEnded) {
      previous.replaced = true;
      previous.close('replaced');
    }
    this.registry.setPresence(entry, 'online', 'connected', link.transport, Date.now(), epoch || undefined);
    return session;
  }

  session(deviceId: string): DeviceSession | undefined {
    return this.sessions.get(deviceId);
  }

  /** The device's current connection if it receives `channel` now; undefined while offline or not yet subscribed. */
  readyLink(deviceId: string, channel: ControlChannel): DeviceLink | undefined {
    const session = this.sessions.get(deviceId);
    return session?.isReadyFor(channel) ? session.link : undefined;
  }

  /** Authenticated device connections open now. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  countByTransport(): Record<Transport, number> {
    const counts: Record<Transport, number> = { mqtt: 0, ws: 0 };
    for (const s of this.sessions.values()) counts[s.link.transport] += 1;
    return counts;
  }

  /** Cuts a device off, e.g. when it is deleted. */
  disconnect(deviceId: string, reason: CloseReason): void {
    this.sessions.get(deviceId)?.close(reason);
  }

  /**
   * The device's token was rotated or revoked: its connection authenticated
   * with a token that no longer holds, so it is told why and cut off now.
   * Its messages are refused from this moment (DeviceSession.handle).
   */
  credentialsChanged(deviceId: string, change: 'rotated' | 'revoked'): void {
    const session = this.sessions.get(deviceId);
    if (!session) return;
    this.deps.log.info({ deviceId, change }, 'device token changed: disconnecting the device');
    session.link.send({ v: 1, type: 'error', code: 401, error: 'unauthorized', message: `unknown device or wrong token: the device token was ${change}` });
    // The close reason whose meaning is "your credentials no longer hold" (WebSocket 4401) [FP-3.2].
    session.close('deleted');
  }

  private sweep(now: number): void {
    this.registry.expireUnknown(now);
    for (const session of this.sessions.values()) {
      const { entry } = session;
      const deadline = (entry.lastSeen ?? 0) + HEARTBEAT_GRACE_FACTOR * this.registry.heartbeatSec(entry) * 1000;
      if (now > deadline) {
        this.deps.log.info({ deviceId: session.deviceId, lastSeen: entry.lastSeen }, 'device missed its heartbeat deadline');
        session.end({ clean: false, reason: 'heartbeat-timeout' });
        session.close('heartbeat-timeout');
      }
    }
  }
}
