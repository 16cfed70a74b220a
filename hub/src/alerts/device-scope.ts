/**
 * What alerting needs to know of a device: which scopes it falls in (kind,
 * room, labels) and what it declares. An interface, so the engine's tests
 * and a cluster's directory can differ from the one registry.
 */
import type { Capabilities, LatestValue, PresenceInfo, RuleScope } from '@iot-hub/protocol';
import type { DeviceScope } from '../registry/device-attributes.js';
import type { Registry } from '../registry/registry.js';

export type { DeviceScope };

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

/** The registry as alerting sees it; a device's scope is its record (kind, room, labels), not a copy. */
export function registryDeviceFacts(registry: Registry): DeviceDirectory {
  const facts = (id: string): DeviceFacts | undefined => {
    const e = registry.get(id);
    if (!e) return undefined;
    return {
      id,
      name: e.record.name,
      scope: e.record,
      capabilities: e.record.capabilities,
      metricNames: e.metricNames,
      latest: e.latest,
      presence: e.presence,
      lastSeen: e.lastSeen,
      createdAt: e.record.createdAt,
    };
  };
  return {
    scopeOf: (id) => registry.scopeOf(id),
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
