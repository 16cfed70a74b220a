/**
 * Live events across the nodes of a cluster. What happens on this node goes
 * to its dashboards and to the bus; what other nodes publish goes to this
 * node's dashboards and registry mirror only, never to the core EventBus:
 * its listeners (audit, commands, state, the bus itself) act on each event
 * once, on the node where it happened.
 */
import type { PresenceReason } from '@iot-hub/protocol';
import { EventBus, type HubEventMap } from '../core/events.js';
import type { Registry } from '../registry/registry.js';
import type { HubBusEvents } from './bus/bus-messages.js';
import type { ClusterBus } from './bus/cluster-bus.js';

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
  readonly counters = { remoteEvents: 0, remoteUnknownDevice: 0, stalePresence: 0 };

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

  private unknown(): void {
    // A device provisioned on another node a moment ago: the registry sync brings it.
    this.counters.remoteUnknownDevice += 1;
    this.options.registryChanged();
  }
}
