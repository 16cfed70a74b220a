/**
 * One device's shadow and the pure rules that change it [FP-4.3]: a desired
 * patch, a reported update, the view. Maps, not plain objects, because
 * `__proto__` is a valid state key under NAME_PATTERN.
 */
import { MAX_STATE_KEYS, ProtocolError, type DeviceStateView, type DesiredMessage, type StateEntry, type StateValue } from '@iot-hub/protocol';

export interface Shadow {
  /** Desired version: 0 until the first desired change, then +1 per change. */
  version: number;
  reportedVersion: number | null;
  reported: Map<string, StateEntry>;
  /** Only what is pending: a key leaves once the device reports the same value. */
  desired: Map<string, StateEntry>;
}

export function emptyShadow(): Shadow {
  return { version: 0, reportedVersion: null, reported: new Map(), desired: new Map() };
}

/**
 * Applies a desired patch: a value sets the key, `null` removes it. Returns
 * the next shadow, or null when the patch changes nothing (same values, or
 * removing keys that are not desired), so the version stays.
 */
export function patchDesired(current: Shadow, patch: Record<string, StateValue>, now: number): Shadow | null {
  const desired = new Map(current.desired);
  let changed = false;
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      changed = desired.delete(key) || changed;
    } else if (desired.get(key)?.value !== value) {
      desired.set(key, { value, ts: now });
      changed = true;
    }
  }
  if (!changed) return null;
  if (desired.size > MAX_STATE_KEYS) {
    throw new ProtocolError('bad_request', `the desired state would have ${desired.size} keys; at most ${MAX_STATE_KEYS} (remove keys with null)`);
  }
  return { ...current, version: current.version + 1, desired };
}

/**
 * Merges a `state` message: named keys take the reported value (`null`
 * removes one), others keep theirs. A desired key clears when this message
 * reports that key with the same value; a desired key the device leaves out
 * stays pending even if an older report matched, since that value may be stale.
 */
export function applyReported(current: Shadow, state: Record<string, StateValue>, version: number | undefined, now: number): Shadow {
  const reported = new Map(current.reported);
  const desired = new Map(current.desired);
  for (const [key, value] of Object.entries(state)) {
    if (value === null) {
      reported.delete(key);
      continue;
    }
    reported.set(key, { value, ts: now });
    if (desired.get(key)?.value === value) desired.delete(key);
  }
  // The reported document is bounded like one message, so a device cannot grow it without end [FP-7].
  if (reported.size > MAX_STATE_KEYS) {
    throw new ProtocolError('invalid_message', `the reported state would have ${reported.size} keys; at most ${MAX_STATE_KEYS} (remove keys with null)`);
  }
  return { version: current.version, reportedVersion: version ?? current.reportedVersion, reported, desired };
}

export function toView(deviceId: string, s: Shadow): DeviceStateView {
  const pending = [...s.desired].filter(([key, e]) => s.reported.get(key)?.value !== e.value);
  return {
    deviceId,
    version: s.version,
    reportedVersion: s.reportedVersion,
    reported: Object.fromEntries(s.reported),
    desired: Object.fromEntries(s.desired),
    delta: Object.fromEntries(pending.map(([key, e]) => [key, e.value])),
    refused: {},
  };
}

/** The `desired` message [FP-4.3]: the pending desired values with the version. */
export function desiredMessage(s: Shadow): DesiredMessage {
  const state = Object.fromEntries([...s.desired].map(([key, e]) => [key, e.value]));
  const delta = Object.fromEntries([...s.desired].filter(([key, e]) => s.reported.get(key)?.value !== e.value).map(([key, e]) => [key, e.value]));
  return { v: 1, type: 'desired', state, version: s.version, delta };
}
