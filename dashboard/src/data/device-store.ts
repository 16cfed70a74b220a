/**
 * Client-side device state: a snapshot from the live socket, then events
 * applied on top. Events are applied as they arrive (so memory stays bounded
 * by the number of devices, even in a background tab where animation frames
 * do not run) but subscribers hear about them once per frame, with one
 * immutable state: a new Map whenever anything changed, and a new DeviceView
 * object only for the devices that changed, so views can compare by identity.
 */
import type { DashboardEvent, DeviceView, PresenceStatus } from '@iot-hub/protocol';

export interface PresenceCounts {
  online: number;
  offline: number;
  unknown: number;
  total: number;
}

export interface DeviceState {
  readonly devices: ReadonlyMap<string, DeviceView>;
  readonly counts: PresenceCounts;
  /** False until the first snapshot arrived. */
  readonly synced: boolean;
  /**
   * True while the live subscription covers every device, so `devices` is
   * the whole fleet, kept current. False before the first such snapshot and
   * while only some devices are subscribed (a device page): the others are
   * kept as last seen.
   */
  readonly complete: boolean;
  /** True between an `overflow` (events were lost) and the snapshot that repairs it. */
  readonly stale: boolean;
  /** Bumped with every published change. */
  readonly version: number;
}

/** Runs `callback` at the next frame; returns a function that cancels it. */
export type FrameScheduler = (callback: () => void) => () => void;

interface FrameGlobals {
  requestAnimationFrame?: (callback: () => void) => number;
  cancelAnimationFrame?: (handle: number) => void;
}

/** requestAnimationFrame in a browser; a ~60 Hz timer elsewhere (Node tests). */
export const animationFrameScheduler: FrameScheduler = (callback) => {
  const { requestAnimationFrame: raf, cancelAnimationFrame: caf } = globalThis as FrameGlobals;
  if (typeof raf === 'function') {
    const handle = raf(callback);
    return () => caf?.(handle);
  }
  const timer = setTimeout(callback, 16);
  return () => clearTimeout(timer);
};

export function countPresence(devices: Iterable<DeviceView>): PresenceCounts {
  const counts: PresenceCounts = { online: 0, offline: 0, unknown: 0, total: 0 };
  for (const device of devices) {
    const status: PresenceStatus = device.presence.status;
    counts[status] = (counts[status] ?? 0) + 1;
    counts.total++;
  }
  return counts;
}

export type DeviceStateListener = (state: DeviceState) => void;

export class DeviceStore {
  private readonly schedule: FrameScheduler;
  private readonly listeners = new Set<DeviceStateListener>();
  private published: DeviceState = {
    devices: new Map(),
    counts: { online: 0, offline: 0, unknown: 0, total: 0 },
    synced: false,
    complete: false,
    stale: false,
    version: 0,
  };
  /** The working map; the same object as `published.devices` until the first change after a publish. */
  private working = this.published.devices as Map<string, DeviceView>;
  private workingIsPublished = true;
  /** Devices already copied since the last publish, safe to change in place. */
  private readonly copied = new Set<string>();
  private synced = false;
  private complete = false;
  private stale = false;
  private dirty = false;
  private cancelFrame: (() => void) | null = null;

  constructor(options: { schedule?: FrameScheduler } = {}) {
    this.schedule = options.schedule ?? animationFrameScheduler;
  }

  /** The last published state: what subscribers have seen. */
  get state(): DeviceState {
    return this.published;
  }

  /** Calls `listener` once per frame in which something changed; returns the unsubscribe function. */
  subscribe(listener: DeviceStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The answer to a (re)subscribe: replaces every device for the scope "*",
   * else only the devices the scope names (one missing from the snapshot no
   * longer exists) and keeps the others as they were.
   */
  applySnapshot(devices: readonly DeviceView[], scope: '*' | readonly string[] = '*'): void {
    if (scope === '*') {
      this.working = new Map(devices.map((device) => [device.id, device]));
      this.workingIsPublished = false;
      this.copied.clear();
    } else {
      this.ensureWorkingCopy();
      for (const id of scope) {
        this.working.delete(id);
        this.copied.delete(id);
      }
      for (const device of devices) {
        this.working.set(device.id, device);
        this.copied.delete(device.id);
      }
    }
    this.synced = true;
    this.complete = scope === '*';
    this.stale = false;
    this.changed();
  }

  applyEvent(event: DashboardEvent): void {
    switch (event.event) {
      case 'telemetry': {
        const device = this.editable(event.deviceId);
        if (!device) return;
        for (const [name, value] of Object.entries(event.metrics)) {
          // Metric names are the device's: `constructor` must not read Object's, `__proto__` must not set the prototype.
          const previous = Object.hasOwn(device.latest, name) ? device.latest[name] : undefined;
          // A late sample (a device flushing its buffer) must not hide a newer value.
          if (!previous || previous.ts <= event.ts) {
            Object.defineProperty(device.latest, name, { value: { value, ts: event.ts }, enumerable: true, writable: true, configurable: true });
          }
        }
        device.lastSeen = Math.max(device.lastSeen ?? 0, event.ts);
        break;
      }
      case 'presence': {
        const device = this.editable(event.deviceId);
        if (!device) return;
        device.presence = event.presence;
        if (event.lastSeen !== null) device.lastSeen = Math.max(device.lastSeen ?? 0, event.lastSeen);
        break;
      }
      case 'device':
        this.ensureWorkingCopy();
        if (event.action === 'removed') {
          if (!this.working.delete(event.deviceId)) return;
          this.copied.delete(event.deviceId);
        } else {
          this.working.set(event.device.id, event.device);
          this.copied.delete(event.device.id);
        }
        break;
      case 'overflow':
        // The connection resubscribes; until its snapshot lands, values may be behind.
        this.stale = true;
        break;
      default:
        return; // An event kind newer than this dashboard: nothing to apply.
    }
    this.changed();
  }

  /** Publishes pending changes now instead of at the next frame. */
  flush(): void {
    this.cancelFrame?.();
    this.cancelFrame = null;
    if (!this.dirty) return;
    this.dirty = false;
    this.published = {
      devices: this.working,
      counts: countPresence(this.working.values()),
      synced: this.synced,
      complete: this.complete,
      stale: this.stale,
      version: this.published.version + 1,
    };
    this.workingIsPublished = true;
    this.copied.clear();
    for (const listener of this.listeners) {
      try {
        listener(this.published);
      } catch (error) {
        console.error('device-store: listener failed', error);
      }
    }
  }

  /** Cancels the pending frame and forgets every listener. */
  dispose(): void {
    this.cancelFrame?.();
    this.cancelFrame = null;
    this.listeners.clear();
  }

  private changed(): void {
    this.dirty = true;
    this.cancelFrame ??= this.schedule(() => {
      this.cancelFrame = null;
      this.flush();
    });
  }

  private ensureWorkingCopy(): void {
    if (!this.workingIsPublished) return;
    this.working = new Map(this.working);
    this.workingIsPublished = false;
  }

  /** The device as an object this store may change: copied once per frame. */
  private editable(id: string): DeviceView | undefined {
    const current = this.working.get(id);
    if (!current) return undefined;
    if (this.copied.has(id)) return current;
    this.ensureWorkingCopy();
    const copy: DeviceView = { ...current, latest: { ...current.latest } };
    this.working.set(id, copy);
    this.copied.add(id);
    return copy;
  }
}
