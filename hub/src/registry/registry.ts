/**
 * The device registry: who exists, their credentials, capabilities, presence,
 * last seen and latest values. Everything is held in memory (reads are hot:
 * every connect and every dashboard snapshot); durable facts go to the
 * RegistryStore, latest values are recovered from the TelemetryStore.
 */
import {
  DEFAULT_HEARTBEAT_SEC,
  HEARTBEAT_GRACE_FACTOR,
  MAX_METRICS_PER_SAMPLE,
  ProtocolError,
  type Capabilities,
  type DeviceStats,
  type DeviceView,
  type HelloMessage,
  type LatestValue,
  type MetricValue,
  type PresenceInfo,
  type PresenceReason,
  type Transport,
} from '@iot-hub/protocol';
import type { Logger } from 'pino';
import { generateToken, hashToken, tokenMatches } from '../auth/tokens.js';
import type { EventBus } from '../events/event-bus.js';
import type { StoredValue, TelemetryStore } from '../telemetry/telemetry-store.js';
import { capabilitiesFromHello } from './capabilities.js';
import { DEFAULT_MAX_METRICS_PER_DEVICE, MetricNameLimit } from './metric-names.js';
import type { DeviceAttributes, DeviceRecord, RegistryStore } from './registry-store.js';
import { BootWindows, type SeqWindow } from '../telemetry/seq-windows.js';
import { LocalWrites } from './local-writes.js';
import { applyPatch, normalizeLabels, sameLabels, type AttributePatch, type DeviceScope } from './device-attributes.js';
import { SeqWindowPersistence, type RegistrySeqWindowStore } from './seq-window-persistence.js';

export { SEQ_PERSIST_MS } from './seq-window-persistence.js';

export interface DeviceEntry {
  record: DeviceRecord;
  presence: PresenceInfo;
  lastSeen: number | null;
  /** Newest value of each metric, by name: a Map, since `__proto__` is a valid metric name. */
  latest: Map<string, LatestValue>;
  /** The device's distinct metric names: those in `latest` and those its hello declares (see MetricNameLimit). */
  metricNames: Set<string>;
  stats: DeviceStats;
  /** Last timestamp the hub stamped on this device's telemetry (see DeviceSession.stamp). */
  lastStampTs: number;
  /** Seq windows per boot, to drop resent samples [FP-4.2] (see BootWindows). */
  boots: BootWindows;
  /**
   * Cluster mode: the ownership epoch the presence belongs to. Presence
   * events of different nodes can cross on the bus; one of an older epoch
   * (a released session's offline arriving after the next claim's online)
   * must not overwrite a newer one.
   */
  presenceEpoch?: number;
}

/**
 * What mirrorRecord did: `replaced` is another device of the same id (deleted
 * and provisioned again on another node), whose sessions must end.
 * `credentials` says the token was rotated or revoked on another node.
 */
export interface MirrorOutcome {
  change: 'added' | 'replaced' | 'updated' | 'unchanged';
  entry: DeviceEntry;
  credentials: 'rotated' | 'revoked' | null;
}

const LAST_SEEN_FLUSH_MS = 5_000;
/** Latest values per device in the list view: as many as a hello may declare [FP-7.1]. */
export const LIST_LATEST_MAX = MAX_METRICS_PER_SAMPLE;

export class Registry {
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly dirtyLastSeen = new Set<string>();
  /** Devices `unknown` since the hub started, not heard from yet (see expireUnknown). */
  private readonly awaitingReturn = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  /** Where seq windows outlive the hub; null = in memory only. */
  private readonly windows: SeqWindowPersistence | null;
  /** This node's writes in flight or recent, which a RegistrySync poll must not undo. */
  readonly localWrites = new LocalWrites();

  constructor(
    private readonly store: RegistryStore,
    private readonly telemetry: TelemetryStore,
    private readonly events: EventBus,
    private readonly log: Logger,
    readonly metricLimit = new MetricNameLimit(DEFAULT_MAX_METRICS_PER_DEVICE),
    /** Where seq windows outlive the hub; absent = in memory only. */
    seqWindows: RegistrySeqWindowStore | null = null,
  ) {
    this.windows = seqWindows && new SeqWindowPersistence(seqWindows, (entry) => this.devices.get(entry.record.id) === entry, log);
  }

  /**
   * Loads every device. Presence is `unknown` until each is heard from
   * again, unless `presence` has the device: in cluster mode presence is
   * the ownership table's, not this node's restart.
   */
  async start(options: { now?: number; presence?: ReadonlyMap<string, PresenceInfo>; presenceEpochs?: ReadonlyMap<string, number> } = {}): Promise<void> {
    const now = options.now ?? Date.now();
    for (const record of await this.store.loadAll()) {
      const stored = await this.telemetry.latest(record.id);
      const latest = new Map<string, LatestValue>();
      for (const [metric, v] of Object.entries(stored)) latest.set(metric, storedLatest(record, metric, v));
      const presence = options.presence?.get(record.id) ?? initialPresence(record, now);
      if (presence.reason === 'hub-restart') this.awaitingReturn.add(record.id);
      const metricNames = namesOf(latest, record.capabilities);
      const presenceEpoch = options.presenceEpochs?.get(record.id);
      this.devices.set(record.id, { record, presence, lastSeen: record.lastSeen, latest, metricNames, stats: newStats(), lastStampTs: 0, boots: new BootWindows(), ...(presenceEpoch === undefined ? {} : { presenceEpoch }) });
    }
    await this.windows?.load((id) => this.devices.get(id));
    this.flushTimer = setInterval(() => void this.flushLastSeen(), LAST_SEEN_FLUSH_MS);
    this.flushTimer.unref();
    this.windows?.start();
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    await this.windows?.stop();
    await this.flushLastSeen();
  }

  /**
   * The boot of a device's `hello` [FP-4.2]: this node's current boot of the
   * device at once, and saved (when it changed) before the promise resolves,
   * so the hello is acknowledged only once it is durable. Rejects with
   * storage_unavailable when the save failed.
   */
  async setBoot(entry: DeviceEntry, boot: HelloMessage['boot'], now = Date.now()): Promise<void> {
    if (this.windows) await this.windows.setBoot(entry, boot, now);
    else entry.boots.setCurrent(boot, now);
  }

  /** The telemetry store committed the writes of these seqs: the window is persisted at the next tick. */
  seqsCommitted(entry: DeviceEntry, window: SeqWindow): void {
    this.windows?.seqsCommitted(entry, window);
  }

  /**
   * Replaces the device's seq windows with the shared store's: for the
   * cluster lead when this node claims a device another node held (its
   * ownership epoch moved), before the device's messages are taken, since
   * the other node's windows are the newer ones. Needs a store with
   * loadDevice (PgSeqWindowStore).
   */
  async reloadWindows(deviceId: string): Promise<void> {
    const entry = this.devices.get(deviceId);
    if (entry && this.windows) await this.windows.reload(entry);
  }

  private async flushLastSeen(): Promise<void> {
    if (this.dirtyLastSeen.size === 0) return;
    const entries = [];
    for (const id of this.dirtyLastSeen) {
      const d = this.devices.get(id);
      if (d?.lastSeen != null) entries.push({ id, lastSeen: d.lastSeen, transport: d.presence.transport });
    }
    this.dirtyLastSeen.clear();
    try {
      await this.store.saveLastSeen(entries);
    } catch (err) {
      this.log.error({ err }, 'saving last-seen times failed');
    }
  }

  get size(): number {
    return this.devices.size;
  }

  get(id: string): DeviceEntry | undefined {
    return this.devices.get(id);
  }

  all(): IterableIterator<DeviceEntry> {
    return this.devices.values();
  }

  countOnline(): number {
    let n = 0;
    for (const d of this.devices.values()) if (d.presence.status === 'online') n += 1;
    return n;
  }

  /** Creates a device with a fresh token; the token is returned once and only its hash kept. */
  async provision(input: { id: string; kind: string; name?: string; room?: string; labels?: readonly string[] }, now = Date.now()): Promise<{ entry: DeviceEntry; token: string }> {
    if (this.devices.has(input.id)) throw new ProtocolError('conflict', `device ${JSON.stringify(input.id)} already exists`);
    const token = generateToken();
    const record: DeviceRecord = {
      id: input.id,
      kind: input.kind,
      name: input.name ?? input.id,
      room: input.room ?? null,
      labels: normalizeLabels(input.labels ?? []),
      tokenHash: hashToken(token),
      tokenIssuedAt: now,
      tokenRevokedAt: null,
      createdAt: now,
      capabilities: null,
      lastSeen: null,
      lastTransport: null,
    };
    const inserted = await this.localWrites.around(input.id, () => this.store.insert(record));
    if (!inserted) throw new ProtocolError('conflict', `device ${JSON.stringify(input.id)} already exists`);
    const entry = newEntry(record, { status: 'offline', since: now, reason: 'never-connected', transport: null });
    this.devices.set(record.id, entry);
    this.events.emit('deviceAdded', { device: this.view(entry) });
    return { entry, token };
  }

  async remove(id: string): Promise<boolean> {
    if (!this.devices.has(id)) return false;
    await this.localWrites.around(id, async () => {
      this.devices.delete(id);
      this.dirtyLastSeen.delete(id);
      await this.store.delete(id);
      await this.windows?.deleteDevice(id);
    });
    await this.telemetry.deleteDevice(id);
    this.events.emit('deviceRemoved', { deviceId: id });
    return true;
  }

  /**
   * Changes the operator-given name, room or labels: durable first, then in
   * memory, then `deviceUpdated` (dashboards get a `device` `updated`
   * event). A patch that changes nothing costs no write and no event.
   * Returns what changed, with the previous values.
   */
  async update(id: string, patch: AttributePatch): Promise<{ entry: DeviceEntry; changed: Partial<DeviceAttributes>; previous: Partial<DeviceAttributes> }> {
    const entry = this.require(id);
    const { next, changed, previous } = applyPatch(entry.record, patch);
    if (Object.keys(changed).length === 0) return { entry, changed, previous };
    if (!(await this.localWrites.around(id, () => this.store.saveAttributes(id, next)))) throw notFound(id);
    // A new labels array, never the old one changed in place: a labels array read through scopeOf stays as it was read.
    Object.assign(entry.record, next);
    this.events.emit('deviceUpdated', { device: this.view(entry) });
    return { entry, changed, previous };
  }

  /**
   * The device's kind, room and labels, for the rule engine per reading:
   * no copy (the record itself, read-only by type); updates replace its
   * fields rather than change them in place.
   */
  scopeOf(id: string): DeviceScope | undefined {
    return this.devices.get(id)?.record;
  }

  /** The device if the token is right; null for an unknown id, a wrong token or a revoked one alike. */
  authenticate(id: string, token: string): DeviceEntry | null {
    const entry = this.devices.get(id);
    if (!entry || entry.record.tokenRevokedAt !== null) return null;
    return tokenMatches(token, entry.record.tokenHash) ? entry : null;
  }

  /**
   * Issues a new token; the old one stops working at once. Returned once,
   * only its hash is kept. Also ends a revocation.
   */
  async rotateToken(id: string, now = Date.now()): Promise<{ entry: DeviceEntry; token: string }> {
    const entry = this.require(id);
    const token = generateToken();
    const tokenHash = hashToken(token);
    // Durable first: a token handed out must survive a restart.
    if (!(await this.localWrites.around(id, () => this.store.saveToken(id, tokenHash, now)))) throw notFound(id);
    entry.record.tokenHash = tokenHash;
    entry.record.tokenIssuedAt = now;
    entry.record.tokenRevokedAt = null;
    return { entry, token };
  }

  /** Revokes the device's token: nothing authenticates until it is rotated. Revoking twice keeps the first time. */
  async revokeToken(id: string, now = Date.now()): Promise<DeviceEntry> {
    const entry = this.require(id);
    if (entry.record.tokenRevokedAt !== null) return entry;
    const revoked = await this.localWrites.around(id, () => {
      // In memory first: no connection may authenticate while the write is in flight.
      entry.record.tokenRevokedAt = now;
      return this.store.revokeToken(id, now);
    });
    if (!revoked) throw notFound(id);
    return entry;
  }

  /*
   * The cluster mirror: another node changed the shared store or a device it
   * holds. Silent (no event on this node's bus, whose listeners would act a
   * second time) and with no store write (the other node made it).
   */

  /**
   * A device record as another node wrote it (see RegistrySync): a new
   * device, or the name, room, labels, kind, credentials and capabilities of one held,
   * whose presence, latest values and stats stay. A record of another
   * device of the same id (another createdAt) replaces the entry whole, so
   * sessions of the old one see it gone. A new entry's presence is its
   * record's until mirrorPresence says more.
   */
  mirrorRecord(record: DeviceRecord, now = Date.now()): MirrorOutcome {
    const held = this.devices.get(record.id);
    if (!held || held.record.createdAt !== record.createdAt) {
      if (held) this.forget(record.id);
      const entry = newEntry({ ...record }, initialPresence(record, now));
      this.devices.set(record.id, entry);
      return { change: held ? 'replaced' : 'added', entry, credentials: null };
    }
    const mine = held.record;
    const credentials = record.tokenRevokedAt !== null && mine.tokenRevokedAt === null ? 'revoked' : record.tokenHash !== mine.tokenHash ? 'rotated' : null;
    const capabilitiesChanged = JSON.stringify(record.capabilities) !== JSON.stringify(mine.capabilities);
    const changed =
      capabilitiesChanged ||
      record.kind !== mine.kind ||
      record.name !== mine.name ||
      record.room !== mine.room ||
      !sameLabels(record.labels, mine.labels) ||
      record.tokenHash !== mine.tokenHash ||
      record.tokenIssuedAt !== mine.tokenIssuedAt ||
      record.tokenRevokedAt !== mine.tokenRevokedAt;
    if (!changed) return { change: 'unchanged', entry: held, credentials: null };
    mine.kind = record.kind;
    mine.name = record.name;
    mine.room = record.room;
    mine.labels = record.labels;
    mine.tokenHash = record.tokenHash;
    mine.tokenIssuedAt = record.tokenIssuedAt;
    mine.tokenRevokedAt = record.tokenRevokedAt;
    if (capabilitiesChanged) {
      mine.capabilities = record.capabilities;
      held.metricNames = namesOf(held.latest, record.capabilities);
    }
    return { change: 'updated', entry: held, credentials };
  }

  /** A device deleted on another node; false if it was not held. Its stored rows are the deleting node's to remove. */
  mirrorRemoved(id: string): boolean {
    if (!this.devices.has(id)) return false;
    this.forget(id);
    return true;
  }

  private forget(id: string): void {
    this.devices.delete(id);
    this.dirtyLastSeen.delete(id);
    this.awaitingReturn.delete(id);
  }

  /**
   * A device's presence as its owner node (or the reaper) set it; last seen
   * never moves back. False if not held; 'stale' (and nothing changes) if
   * it belongs to an older ownership epoch than the presence held.
   */
  mirrorPresence(id: string, presence: PresenceInfo, lastSeen: number | null, epoch?: number): boolean | 'stale' {
    const entry = this.devices.get(id);
    if (!entry) return false;
    if (epoch !== undefined) {
      if (entry.presenceEpoch !== undefined && epoch < entry.presenceEpoch) return 'stale';
      entry.presenceEpoch = epoch;
    }
    entry.presence = presence;
    if (lastSeen !== null && (entry.lastSeen === null || lastSeen > entry.lastSeen)) entry.lastSeen = lastSeen;
    // Its presence is known now: the restart rule no longer applies here.
    this.awaitingReturn.delete(id);
    return true;
  }

  /**
   * A reading taken on the device's owner node, as recordLatest takes it.
   * Names past the per-device limit [FP-7.3] are left out: the owner
   * checked them, but what reaches this node is not trusted to be bounded.
   */
  mirrorLatest(id: string, ts: number, metrics: Record<string, MetricValue>): boolean {
    const entry = this.devices.get(id);
    if (!entry) return false;
    for (const [metric, value] of Object.entries(metrics)) {
      if (!entry.metricNames.has(metric)) {
        if (entry.metricNames.size >= this.metricLimit.max) continue;
        entry.metricNames.add(metric);
      }
      const current = entry.latest.get(metric);
      if (!current || current.ts <= ts) entry.latest.set(metric, { value, ts });
    }
    return true;
  }

  /**
   * Latest values read back from the telemetry store for a device another
   * node holds (a node that starts listening to telemetry again): a value
   * replaces one only if it is newer, so a reading that came over the bus
   * meanwhile stays. The names are the store's, bounded like mirrorLatest's.
   * Whether anything changed; false also when the device is not held.
   */
  mirrorStoredLatest(id: string, stored: Readonly<Record<string, StoredValue>>): boolean {
    const entry = this.devices.get(id);
    if (!entry) return false;
    let changed = false;
    for (const [metric, v] of Object.entries(stored)) {
      if (!entry.metricNames.has(metric)) {
        if (entry.metricNames.size >= this.metricLimit.max) continue;
        entry.metricNames.add(metric);
      }
      const current = entry.latest.get(metric);
      if (current && current.ts >= v.ts) continue;
      entry.latest.set(metric, storedLatest(entry.record, metric, v));
      changed = true;
    }
    return changed;
  }

  private require(id: string): DeviceEntry {
    const entry = this.devices.get(id);
    if (!entry) throw notFound(id);
    return entry;
  }

  /**
   * A hello replaces the declared capabilities [FP-4.1]. Refused with
   * too_many_metrics when its metrics and those the device has readings for
   * are more than the per-device limit [FP-7.3]. A hello equal to the
   * current one (every reconnect sends it) costs no write and no event.
   */
  async setCapabilities(entry: DeviceEntry, hello: HelloMessage): Promise<void> {
    const capabilities = capabilitiesFromHello(hello);
    const names = namesOf(entry.latest, capabilities);
    this.metricLimit.checkHello(entry.record.id, names.size, entry.latest.size);
    const previous = entry.record.capabilities;
    entry.record.capabilities = capabilities;
    entry.metricNames = names;
    if (previous !== null && JSON.stringify(previous) === JSON.stringify(capabilities)) return;
    await this.localWrites.around(entry.record.id, () => this.store.saveCapabilities(entry.record.id, capabilities));
    this.events.emit('deviceUpdated', { device: this.view(entry) });
  }

  heartbeatSec(entry: DeviceEntry): number {
    return entry.record.capabilities?.heartbeatSec ?? DEFAULT_HEARTBEAT_SEC;
  }

  touch(entry: DeviceEntry, now: number): void {
    entry.lastSeen = now;
    this.dirtyLastSeen.add(entry.record.id);
  }

  /**
   * A device that has not come back within its own heartbeat deadline
   * after the hub restarted is offline, with a reason that says so
   * [FP-6]; otherwise it would stay `unknown` for ever. Called by the
   * presence sweep; touches only devices still unknown since the start.
   */
  expireUnknown(now: number): void {
    for (const id of this.awaitingReturn) {
      const entry = this.devices.get(id);
      if (!entry || entry.presence.reason !== 'hub-restart') {
        this.awaitingReturn.delete(id);
        continue;
      }
      if (now <= entry.presence.since + HEARTBEAT_GRACE_FACTOR * this.heartbeatSec(entry) * 1000) continue;
      this.awaitingReturn.delete(id);
      this.setPresence(entry, 'offline', 'silent-since-restart', null, now);
    }
  }

  /** `epoch`: cluster mode, the ownership epoch this change belongs to (see DeviceEntry.presenceEpoch). */
  setPresence(entry: DeviceEntry, status: 'online' | 'offline', reason: PresenceReason, transport: Transport | null, now = Date.now(), epoch?: number): void {
    if (epoch !== undefined) entry.presenceEpoch = epoch;
    entry.presence = { status, since: now, reason, transport: transport ?? entry.presence.transport };
    if (status === 'online') this.touch(entry, now);
    else this.dirtyLastSeen.add(entry.record.id);
    this.events.emit('presence', { deviceId: entry.record.id, presence: entry.presence, lastSeen: entry.lastSeen });
  }

  /**
   * Refuses (throws too_many_metrics) a telemetry message whose metric names
   * would take the device past its limit [FP-7.3]; nothing is recorded then.
   */
  admitMetrics(entry: DeviceEntry, samples: readonly { metrics: Record<string, MetricValue> }[]): void {
    this.metricLimit.checkTelemetry(entry.record.id, entry.metricNames, samples);
  }

  recordLatest(entry: DeviceEntry, ts: number, metrics: Record<string, MetricValue>): void {
    for (const [metric, value] of Object.entries(metrics)) {
      const current = entry.latest.get(metric);
      if (!current || current.ts <= ts) entry.latest.set(metric, { value, ts });
      entry.metricNames.add(metric);
    }
  }

  /** The device as GET /api/devices/{id} and the dashboards see it: every latest value. */
  view(entry: DeviceEntry): DeviceView {
    return {
      id: entry.record.id,
      kind: entry.record.kind,
      name: entry.record.name,
      room: entry.record.room,
      labels: [...entry.record.labels],
      createdAt: entry.record.createdAt,
      presence: entry.presence,
      lastSeen: entry.lastSeen,
      // fromEntries defines own properties, so a `__proto__` metric is a key like any other.
      latest: Object.fromEntries(entry.latest),
      capabilities: entry.record.capabilities,
      stats: entry.stats,
    };
  }

  /**
   * The device as the list (GET /api/devices) shows it: at most
   * LIST_LATEST_MAX latest values, the declared metrics first, then the
   * newest; `latestOmitted` says how many more GET /api/devices/{id} has.
   * Keeps the list's size per device bounded whatever the limit of metric
   * names is set to.
   */
  summary(entry: DeviceEntry): DeviceView {
    const view = this.view(entry);
    if (entry.latest.size <= LIST_LATEST_MAX) return view;
    view.latest = Object.fromEntries(pickLatest(entry.latest, entry.record.capabilities, LIST_LATEST_MAX));
    view.latestOmitted = entry.latest.size - LIST_LATEST_MAX;
    return view;
  }
}

/** A device's presence when loaded: never connected, or `unknown` until it is heard from again [FP-6]. */
function initialPresence(record: DeviceRecord, now: number): PresenceInfo {
  return record.lastSeen === null
    ? { status: 'offline', since: record.createdAt, reason: 'never-connected', transport: null }
    : { status: 'unknown', since: now, reason: 'hub-restart', transport: record.lastTransport };
}

/** The names a device has: those with readings and those its hello declares. */
function namesOf(latest: ReadonlyMap<string, LatestValue>, capabilities: Capabilities | null): Set<string> {
  const names = new Set(latest.keys());
  if (capabilities) for (const name of Object.keys(capabilities.metrics)) names.add(name);
  return names;
}

/** The `max` latest values a summary keeps: declared metrics in their order, then the newest others. */
function pickLatest(latest: ReadonlyMap<string, LatestValue>, capabilities: Capabilities | null, max: number): [string, LatestValue][] {
  const picked: [string, LatestValue][] = [];
  const declared = new Set(capabilities ? Object.keys(capabilities.metrics) : []);
  for (const name of declared) {
    const value = latest.get(name);
    if (value && picked.length < max) picked.push([name, value]);
  }
  if (picked.length < max) {
    const others = [...latest].filter(([name]) => !declared.has(name)).sort((a, b) => b[1].ts - a[1].ts);
    for (const pair of others.slice(0, max - picked.length)) picked.push(pair);
  }
  return picked;
}

function notFound(id: string): ProtocolError {
  return new ProtocolError('not_found', `no device ${JSON.stringify(id)}`);
}

/** An entry with no readings yet: provisioned here, or mirrored from another node. */
/** A stored value as a latest value: stores keep numbers, so a metric the device declared boolean is 1/0 there. */
function storedLatest(record: DeviceRecord, metric: string, v: StoredValue): LatestValue {
  const declared = record.capabilities?.metrics;
  const isBoolean = declared !== undefined && Object.hasOwn(declared, metric) && declared[metric]?.type === 'boolean';
  return { ts: v.ts, value: isBoolean ? v.value !== 0 : v.value };
}

function newEntry(record: DeviceRecord, presence: PresenceInfo): DeviceEntry {
  return { record, presence, lastSeen: record.lastSeen, latest: new Map(), metricNames: namesOf(new Map(), record.capabilities), stats: newStats(), lastStampTs: 0, boots: new BootWindows() };
}

function newStats(): DeviceStats {
  return { messages: 0, duplicates: 0, seqGaps: 0, seqResets: 0, errors: 0 };
}
