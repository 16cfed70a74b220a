/**
 * What alerting needs to know of a device: which scopes it falls in (kind,
 * room, labels) and what it declares. An interface, so the registry's rooms
 * and labels (another change) plug in by replacing registryDeviceFacts.
 */
import type { Capabilities, LatestValue, PresenceInfo, RuleScope } from '@iot-hub/protocol';
import type { Registry } from '../registry/registry.js';

export interface DeviceScope {
  kind: string;
  room: string | null;
  labels: readonly string[];
}

export interface DeviceFacts {
  id: string;
  name: string;
  scope: DeviceScope;
  capabilities: Capabilities | null;
  /** Names the device declared or has readings of. */
  metricNames: ReadonlySet<string>;
  latest: ReadonlyMap<string, LatestValue>;
  presence: PresenceInfo;
  lastSeen: number | null;
  createdAt: number;
}

export interface DeviceDirectory {
  scopeOf(deviceId: string): DeviceScope | undefined;
  get(deviceId: string): DeviceFacts | undefined;
  all(): Iterable<DeviceFacts>;
}

/** The registry as alerting sees it. Rooms and labels are not in the registry yet: room null, no labels. */
export function registryDeviceFacts(registry: Registry): DeviceDirectory {
  const facts = (id: string): DeviceFacts | undefined => {
    const e = registry.get(id);
    if (!e) return undefined;
    return {
      id,
      name: e.record.name,
      scope: { kind: e.record.kind, room: null, labels: [] },
      capabilities: e.record.capabilities,
      metricNames: e.metricNames,
      latest: e.latest,
      presence: e.presence,
      lastSeen: e.lastSeen,
      createdAt: e.record.createdAt,
    };
  };
  return {
    scopeOf: (id) => {
      const e = registry.get(id);
      return e ? { kind: e.record.kind, room: null, labels: [] } : undefined;
    },
    get: facts,
    *all() {
      for (const e of registry.all()) {
        const f = facts(e.record.id);
        if (f) yield f;
      }
    },
  };
}

/** Whether a device with this scope is in the rule's scope. */
export function inScope(scope: RuleScope, deviceId: string, of: DeviceScope): boolean {
  switch (scope.type) {
    case 'device':
      return scope.deviceId === deviceId;
    case 'kind':
      return scope.kind === of.kind;
    case 'label':
      return of.labels.includes(scope.label);
    case 'room':
      return of.room === scope.room;
    case 'all':
      return true;
  }
}
