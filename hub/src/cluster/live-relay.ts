/**
 * Live events across the nodes of a cluster. What happens on this node goes
 * to its dashboards and to the bus; what other nodes publish goes to this
 * node's dashboards and registry mirror only, never to the core EventBus:
 * its listeners (audit, commands, state, the bus itself) act on each event
 * once, on the node where it happened.
 */
import type { PresenceInfo, PresenceReason } from '@iot-hub/protocol';
import { EventBus, type HubEventMap } from '../core/events.js';
import type { Registry } from '../registry/registry.js';
import type { HubBusEvents } from './bus/bus-messages.js';
import type { ClusterBus } from './bus/cluster-bus.js';
import type { PresenceRow } from './ownership/ownership-store.js';

/** Kinds passed on as they are, locally and to the bus. */
const SAME_KINDS = ['telemetry', 'presence', 'command', 'state', 'message'] as const;

export interface LiveRelayOptions {
  core: EventBus;
  bus: ClusterBus;
  registry: Registry;
  /** Another node changed a device record: refresh this node's copy (RegistrySync.nudge). */
  registryChanged(): void;
}

export class LiveRelay {
  /** What this node's dashboards listen to: local and remote events alike. */
  readonly live = new EventBus();
  readonly counters = { remoteEvents: 0, remoteUnknownDevice: 0 };

  constructor(private readonly options: LiveRelayOptions) {}

  start(): void {
    const { core, bus } = this.options;
    for (const kind of SAME_KINDS) {
      core.on(this, kind, (e: HubEventMap[typeof kind]) => {
        this.live.emit(kind, e as never);
        bus.publish(kind, e as never);
      });
    }
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
        const e = item as HubBusEvents['presence'];
        if (!registry.mirrorPresence(e.deviceId, e.presence, e.lastSeen)) return this.unknown();
        return this.live.emit('presence', e);
      }
      case 'command':
        return this.live.emit('command', item as HubBusEvents['command']);
      case 'state':
        return this.live.emit('state', item as HubBusEvents['state']);
      case 'message':
        return this.live.emit('message', item as HubBusEvents['message']);
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
  offline(deviceIds: readonly string[], reason: PresenceReason, now = Date.now()): void {
    const { registry } = this.options;
    for (const id of deviceIds) {
      const entry = registry.get(id);
      if (entry) registry.setPresence(entry, 'offline', reason, entry.presence.transport, now);
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
