/**
 * What operators say about a device beyond its kind: name, room and labels
 * (PATCH /api/devices/{id}). The API's schema checks each value against
 * the protocol's patterns; this module keeps labels in one form (sorted,
 * each once) and says what a change changes, for the audit log.
 */
import type { DeviceAttributes } from './registry-store.js';

/** What an alert rule scopes by (issue 21), read per reading: see Registry.scopeOf. */
export interface DeviceScope {
  readonly kind: string;
  readonly room: string | null;
  readonly labels: readonly string[];
}

export type AttributePatch = Partial<{ name: string; room: string | null; labels: readonly string[] }>;

/** Labels sorted, each once: `["b","a","b"]` and `["a","b"]` are the same set, stored and compared alike. */
export function normalizeLabels(labels: readonly string[]): string[] {
  // The code-unit order (not localeCompare): the same on every node and in every store.
  return [...new Set(labels)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export interface AttributeChange {
  next: DeviceAttributes;
  /** The new values of the fields that changed, and their previous values: the audit entry's details. */
  changed: Partial<DeviceAttributes>;
  previous: Partial<DeviceAttributes>;
}

/** `current` with `patch` applied; fields equal to the current value are not changes. */
export function applyPatch(current: DeviceAttributes, patch: AttributePatch): AttributeChange {
  const next: DeviceAttributes = {
    name: patch.name ?? current.name,
    room: patch.room === undefined ? current.room : patch.room,
    labels: patch.labels === undefined ? current.labels : normalizeLabels(patch.labels),
  };
  const changed: Partial<DeviceAttributes> = {};
  const previous: Partial<DeviceAttributes> = {};
  if (next.name !== current.name) {
    changed.name = next.name;
    previous.name = current.name;
  }
  if (next.room !== current.room) {
    changed.room = next.room;
    previous.room = current.room;
  }
  if (!sameLabels(next.labels, current.labels)) {
    changed.labels = next.labels;
    previous.labels = current.labels;
  }
  return { next, changed, previous };
}

export function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((label, i) => label === b[i]);
}
