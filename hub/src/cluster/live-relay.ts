/**
 * Live events across the nodes of a cluster. What happens on this node goes
 * to its dashboards and to the bus; what other nodes publish goes to this
 * node's dashboards and registry mirror only, never to the core EventBus:
 * its listeners (audit, commands, state, the bus itself) act on each event
 * once, on the node where it happened.
 */
import type { PresenceInfo, PresenceReason } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { StoredValue } from '../telemetry/telemetry-store.js';
import { EventBus, type HubEventMap } from '../events/event-bus.js';
import type { Registry } from '../registry/registry.js';
import type { HubBusEvents } from './bus/bus-messages.js';
import type { ClusterBus } from './bus/cluster-bus.js';
import type { PresenceRow } from './ownership/ownership-store.js';

/** Kinds passed on as they are, locally and to the bus. */
const SAME_KINDS = ['telemetry', 'presence', 'command', 'state', 'message', 'alert'] as const;

export interface LiveRelayOptions {
  core: EventBus;
  bus: ClusterBus;
  registry: Registry;
  /** Another node changed a device record: refresh this node's copy (RegistrySync.nudge). */
  registryChanged(): void;
  /** Every device's newest stored values (TelemetryStore.latestOfAll); absent, latest values are not read back. */
  latestOfAll?: () => Promise<Map<string, Record<string, StoredValue>>>;
  /** Whether this node holds the device's session: its latest values are this node's own, never read back. */
  heldHere(deviceId: string): boolean;
  /** Latest values were read back and some changed: dashboards take a new snapshot. */
  latestRefreshed(changedDevices: number): void;
  log: Logger;
}

export class LiveRelay {
  /** What this node's dashboards listen to: local and remote events alike. */
  readonly live = new EventBus();
  readonly counters = { remoteEvents: 0, remoteUnknownDevice: 0, stalePresence: 0, latestRefreshes: 0, latestRefreshFailures: 0 };
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;

  constructor(private readonly options: LiveRelayOptions) {}

  start(): void {
    const { core, bus } = this.options;
    for (const kind of SAME_KINDS) {
      if (kind === 'presence') continue;
      core.on(this, kind, (e: HubEventMap[typeof kind]) => {
        this.live.emit(kind, e as never);
        bus.publish(kind, e as never);
      });
    }
    core.on(this, 'presence', (e) => {
      this.live.emit('presence', e);
      const epoch = this.options.registry.get(e.deviceId)?.presenceEpoch;
      bus.publish('presence', epoch === undefined ? e : { ...e, epoch });
    });
    core.on(this, 'deviceAdded', (e) => {
      this.live.emit('deviceAdded', e);
      bus.publish('registry', { action: 'added', device: e.device });
    });
    core.on(this, 'deviceUpdated', (e) => {
      this.live.emit('deviceUpdated', e);
      bus.publish('registry', { action: 'updated', device: e.device });
    });
    core.on(this, 'deviceRemoved', (e) => {
      this.live.emit('deviceRemoved', e);
      bus.publish('registry', { action: 'removed', deviceId: e.deviceId });
    });
    // Raw messages are built only while a dashboard of this node watches the device.
    core.interest(this, 'message', (deviceId) => this.live.wants('message', deviceId));
  }

  stop(): void {
    this.options.core.removeAllFor(this);
  }

  /** Whether this node listens to other nodes' telemetry (some dashboard of it wants telemetry). */
  get telemetryListened(): boolean {
    return this.options.bus.wants('telemetry');
  }

  /**
   * Telemetry of other nodes is listened to only while some dashboard of
   * this node wants telemetry (docs/design.md: cluster mode, path 3). While not
   * listened to, the latest values of devices other nodes hold age here; so
   * on listening again they are read back from the telemetry store first.
   */
  telemetryWanted(on: boolean): void {
    if (on === this.telemetryListened) return;
    this.options.bus.want('telemetry', on);
    if (on) void this.refreshLatest();
  }

  /**
   * Reads every device's newest values back from the telemetry store into
   * the registry, for the devices other nodes hold (newer values only, so
   * what came over the bus meanwhile stays). What the owner acknowledged
   * and has not yet drained to InfluxDB (up to --influx-flush-ms while it
   * is up) is not there: it shows with the device's next reading. Calls
   * while one runs are folded into one more after it. Never rejects.
   */
  refreshLatest(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = this.refreshUntilQuiet();
    return this.refreshing;
  }

  private async refreshUntilQuiet(): Promise<void> {
    try {
      do {
        this.refreshAgain = false;
        await this.refreshOnce();
      } while (this.refreshAgain);
    } finally {
      this.refreshing = null;
    }
  }

  private async refreshOnce(): Promise<void> {
    const { latestOfAll, registry, heldHere, log } = this.options;
    if (!latestOfAll) return;
    let all;
    try {
      all = await latestOfAll();
    } catch (err) {
      this.counters.latestRefreshFailures += 1;
      log.warn({ err: (err as Error).message }, 'reading latest values back from the telemetry store failed: those of devices on other nodes show with their next reading');
      return;
    }
    this.counters.latestRefreshes += 1;
    let changed = 0;
    for (const [deviceId, values] of all) {
      if (!heldHere(deviceId) && registry.mirrorStoredLatest(deviceId, values)) changed += 1;
    }
    if (changed > 0) this.options.latestRefreshed(changed);
  }

  /** An event another node published. */
  remote<K extends keyof HubBusEvents>(kind: K, item: HubBusEvents[K]): void {
    const { registry } = this.options;
    this.counters.remoteEvents += 1;
    switch (kind) {
      case 'telemetry': {
        const e = item as HubBusEvents['telemetry'];
        if (!registry.mirrorLatest(e.deviceId, e.ts, e.metrics)) return this.unknown();
        return this.live.emit('telemetry', e);
      }
      case 'presence': {
        const { epoch, ...e } = item as HubBusEvents['presence'];
        const mirrored = registry.mirrorPresence(e.deviceId, e.presence, e.lastSeen, epoch);
        if (!mirrored) return this.unknown();
        // Crossed on the bus with a newer claim's presence: dashboards keep the newer one.
        if (mirrored === 'stale') return void (this.counters.stalePresence += 1);
        return this.live.emit('presence', e);
      }
      case 'command':
        return this.live.emit('command', item as HubBusEvents['command']);
      case 'state':
        return this.live.emit('state', item as HubBusEvents['state']);
      case 'message':
        return this.live.emit('message', item as HubBusEvents['message']);
      case 'alert':
        return this.live.emit('alert', item as HubBusEvents['alert']);
      case 'registry': {
        const e = item as HubBusEvents['registry'];
        this.options.registryChanged();
        if (e.action === 'removed') return this.live.emit('deviceRemoved', { deviceId: e.deviceId });
        return this.live.emit(e.action === 'added' ? 'deviceAdded' : 'deviceUpdated', { device: e.device });
      }
      default:
        return;
    }
  }

  /**
   * Presence the cluster store decided (the reaper's node-lost, or claims
   * released after a rejoin), for devices this node holds no session of:
   * set here, and published like a local change.
   */
  offline(devices: readonly { deviceId: string; epoch: number }[], reason: PresenceReason, now = Date.now()): void {
    const { registry } = this.options;
    for (const { deviceId, epoch } of devices) {
      const entry = registry.get(deviceId);
      if (entry) registry.setPresence(entry, 'offline', reason, entry.presence.transport, now, epoch);
    }
  }

  /**
   * Presence as the cluster store has it, for devices other nodes hold:
   * what the bus may not have brought (it is at most once, was down, or
   * the event came before this node knew the device, and was dropped).
   * A row older than what this node has is left alone; a change is shown
   * to dashboards like a remote event.
   */
  mirrorStoredPresence(rows: Iterable<PresenceRow>, ownNodeId: string): number {
    const { registry } = this.options;
    let changed = 0;
    for (const row of rows) {
      if (row.nodeId === ownNodeId) continue; // this node's own sessions set it
      const entry = registry.get(row.deviceId);
      if (!entry || row.since < entry.presence.since) continue;
      const status = row.online ? 'online' : 'offline';
      if (entry.presence.status === status && entry.presence.since === row.since) continue;
      const presence: PresenceInfo = { status, since: row.since, reason: row.reason, transport: row.transport };
      registry.mirrorPresence(row.deviceId, presence, null);
      this.live.emit('presence', { deviceId: row.deviceId, presence, lastSeen: entry.lastSeen });
      changed += 1;
    }
    return changed;
  }

  private unknown(): void {
    // A device provisioned on another node a moment ago: the registry sync brings it.
    this.counters.remoteUnknownDevice += 1;
    this.options.registryChanged();
  }
}
