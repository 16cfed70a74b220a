/**
 * Brings a shadow stored under the old desired semantics to shadow semantics
 * [FP-4.3]. The old hub deleted a desired key once the device reported its
 * value, so what the operator set survives only in the audit log: replay
 * the device's successful `state.desired` patches in order, then lay the
 * stored (still pending) keys over them, which are authoritative. Keys the
 * replay brings back are desired content the device has not been told of as
 * such, so the version rises by one.
 */
import { MAX_STATE_KEYS, type StateEntry, type StateValue } from '@iot-hub/protocol';
import type { Shadow } from './shadow.js';

/** One audit entry of the device, oldest first: its action, time and details (JSON). */
export interface AuditReplayRow {
  action: string;
  ts: number;
  details: string;
}

/** Audit actions after which the device starts with no desired state (a new device of the same id). */
const FRESH_START = new Set(['device.create', 'device.delete']);

/** Returns the migrated shadow, or null when the replay adds nothing. */
export function rebuildDesired(stored: Shadow, history: Iterable<AuditReplayRow>): Shadow | null {
  const replayed = new Map<string, StateEntry>();
  for (const row of history) {
    if (FRESH_START.has(row.action)) replayed.clear();
    else if (row.action === 'state.desired') applyPatch(replayed, patchOf(row.details), row.ts);
  }
  // The pending keys are what the hub was still sending: they win over the replay.
  for (const key of stored.desired.keys()) replayed.delete(key);
  if (replayed.size === 0) return null;
  // Keep within the bound of a desired document, the most recently set keys first.
  const room = MAX_STATE_KEYS - stored.desired.size;
  const added = [...replayed].sort(([, a], [, b]) => b.ts - a.ts).slice(0, Math.max(0, room));
  if (added.length === 0) return null;
  const desired = new Map([...added.sort(([, a], [, b]) => a.ts - b.ts), ...stored.desired]);
  return { ...stored, version: stored.version + 1, desired };
}

function applyPatch(desired: Map<string, StateEntry>, patch: Map<string, StateValue>, ts: number): void {
  for (const [key, value] of patch) {
    if (value === null) desired.delete(key);
    else desired.set(key, { value, ts });
  }
}

/** The `state` of an audit entry's details; anything else in an old file is skipped, not trusted. */
function patchOf(details: string): Map<string, StateValue> {
  const patch = new Map<string, StateValue>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(details);
  } catch {
    return patch;
  }
  const state = (parsed as { state?: unknown } | null)?.state;
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return patch;
  for (const [key, value] of Object.entries(state)) {
    if (value === null || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') patch.set(key, value);
  }
  return patch;
}
