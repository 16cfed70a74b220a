/**
 * The typed event bus of the core. Listeners (live fan-out today; metrics,
 * rules later) are grouped by owner so one call removes them all at stop().
 */
import type { CommandView, DeviceStateView, DeviceView, MetricValue, PresenceInfo } from '@iot-hub/protocol';

export interface HubEventMap {
  telemetry: { deviceId: string; ts: number; metrics: Record<string, MetricValue> };
  presence: { deviceId: string; presence: PresenceInfo; lastSeen: number | null };
  deviceAdded: { device: DeviceView };
  deviceUpdated: { device: DeviceView };
  deviceRemoved: { deviceId: string };
  /** A command was created or changed state. */
  command: { command: CommandView };
  /** A device's desired or reported state changed. */
  state: { state: DeviceStateView };
}

type Listener<K extends keyof HubEventMap> = (event: HubEventMap[K]) => void;

export class EventBus {
  private readonly listeners = new Map<keyof HubEventMap, Set<{ owner: object; fn: Listener<never> }>>();

  on<K extends keyof HubEventMap>(owner: object, kind: K, fn: Listener<K>): void {
    let set = this.listeners.get(kind);
    if (!set) this.listeners.set(kind, (set = new Set()));
    set.add({ owner, fn: fn as Listener<never> });
  }

  emit<K extends keyof HubEventMap>(kind: K, event: HubEventMap[K]): void {
    const set = this.listeners.get(kind);
    if (!set) return;
    for (const l of set) (l.fn as Listener<K>)(event);
  }

  removeAllFor(owner: object): void {
    for (const set of this.listeners.values()) {
      for (const l of set) if (l.owner === owner) set.delete(l);
    }
  }
}
