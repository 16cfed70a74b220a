/**
 * The typed event bus the hub's parts share: the core and the registry emit,
 * live fan-out, alerting, notifications and the audit log listen. It sits in
 * its own folder because no one of them owns it. Listeners are grouped by
 * owner so one call removes them all at stop().
 */
import type { AlertState, AlertView, CommandView, DeviceMessageEvent, DeviceStateView, DeviceView, ErrorCode, MetricValue, PresenceInfo } from '@iot-hub/protocol';

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
  /** A device caused a protocol error that counts against it [FP-8] (not the hub's own 5xx). */
  deviceError: { deviceId: string; error: ErrorCode; ts: number };
  /** Emitted once stored: an alert changed state (`from` is the state before, null for a new episode), or was acknowledged or silenced (`from` = its state). */
  alert: { alert: AlertView; from: AlertState | null };
  /** A raw message in or out of a device; emitted only while someone wants it (see wants). */
  message: Omit<DeviceMessageEvent, 'event'>;
}

/** Per-device kinds costly to build: the emitter asks `wants` first. */
export type InterestKind = 'message';

type Listener<K extends keyof HubEventMap> = (event: HubEventMap[K]) => void;

export class EventBus {
  private readonly listeners = new Map<keyof HubEventMap, Set<{ owner: object; fn: Listener<never> }>>();
  private readonly interests = new Map<InterestKind, Set<{ owner: object; wants: (deviceId: string) => boolean }>>();

  /** Declares which devices `owner` wants events of `kind` for, so emitters can skip building them. */
  interest(owner: object, kind: InterestKind, wants: (deviceId: string) => boolean): void {
    let set = this.interests.get(kind);
    if (!set) this.interests.set(kind, (set = new Set()));
    set.add({ owner, wants });
  }

  /** Whether anyone wants `kind` for this device: cheap when nobody declared interest. */
  wants(kind: InterestKind, deviceId: string): boolean {
    const set = this.interests.get(kind);
    if (set === undefined || set.size === 0) return false;
    for (const i of set) if (i.wants(deviceId)) return true;
    return false;
  }

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
    for (const set of this.interests.values()) {
      for (const i of set) if (i.owner === owner) set.delete(i);
    }
  }
}
