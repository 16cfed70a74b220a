/**
 * One device's shadow and the pure rules that change it [FP-4.3]: a desired
 * patch, a reported update, the view, the `desired` message. Maps, not plain
 * objects, because `__proto__` is a valid state key under NAME_PATTERN.
 *
 * Shadow semantics (the AWS IoT device shadow is the reference): desired is
 * what operators set and stays until an operator removes a key; the delta is
 * what the device reports differently; the device is told again when its
 * reported state drifts away from desired.
 */
import {
  MAX_STATE_KEYS,
  ProtocolError,
  type DesiredMessage,
  type DeviceStateView,
  type RefusedEntry,
  type StateEntry,
  type StateMessage,
  type StateValue,
} from '@iot-hub/protocol';

export interface Shadow {
  /** Desired version: 0 until the first desired change, then +1 per change of desired content. */
  version: number;
  reportedVersion: number | null;
  reported: Map<string, StateEntry>;
  /** What operators set: a key stays until an operator removes it. */
  desired: Map<string, StateEntry>;
  /** Desired keys the device said it cannot apply; each is a desired key (a subset of `desired`). */
  refused: Map<string, RefusedEntry>;
}

export function emptyShadow(): Shadow {
  return { version: 0, reportedVersion: null, reported: new Map(), desired: new Map(), refused: new Map() };
}

/**
 * Applies a desired patch: a value sets the key, `null` removes it. Returns
 * the next shadow, or null when the patch changes nothing (same values, or
 * removing keys that are not desired), so the version stays. A refusal of a
 * key ends when the operator changes or removes that key.
 */
export function patchDesired(current: Shadow, patch: Readonly<Record<string, StateValue>>, now: number): Shadow | null {
  const desired = new Map(current.desired);
  const refused = new Map(current.refused);
  let changed = false;
  for (const [key, value] of Object.entries(patch)) {
    if (value === null ? !desired.delete(key) : desired.get(key)?.value === value) continue;
    if (value !== null) desired.set(key, { value, ts: now });
    refused.delete(key);
    changed = true;
  }
  if (!changed) return null;
  if (desired.size > MAX_STATE_KEYS) {
    throw new ProtocolError('bad_request', `the desired state would have ${desired.size} keys; at most ${MAX_STATE_KEYS} (remove keys with null)`);
  }
  return { ...current, version: current.version + 1, desired, refused };
}

export interface ReportOutcome {
  shadow: Shadow;
  /**
   * The report moved a desired key's reported value away from desired, the
   * device is not behind and has not refused that key: send it desired again
   * [FP-4.3]. Only a change counts, so a device that keeps reporting the same
   * wrong value is told once.
   */
  drifted: boolean;
  /** Keys whose refusal this report recorded or changed (for the log and the counter). */
  newRefusals: string[];
}

/**
 * Merges a `state` message: named keys take the reported value (`null`
 * removes one), others keep theirs; desired never changes. A report of the
 * desired value ends a refusal of that key; `refused` records the device's
 * reason for desired keys only, and only from a report that answers the
 * current desired version (a report that is behind answers an older one).
 */
export function applyReported(current: Shadow, message: Pick<StateMessage, 'state' | 'version' | 'refused'>, now: number): ReportOutcome {
  const reported = new Map(current.reported);
  const refused = new Map(current.refused);
  const { desired } = current;
  const behind = message.version !== undefined && message.version < current.version;
  const drifting: string[] = [];
  for (const [key, value] of Object.entries(message.state)) {
    const before = reported.get(key)?.value;
    if (value === null) reported.delete(key);
    else reported.set(key, { value, ts: now });
    const wanted = desired.get(key);
    if (!wanted) continue;
    if (value === wanted.value) refused.delete(key);
    else if (value !== before) drifting.push(key);
  }
  // The reported document is bounded like one message, so a device cannot grow it without end [FP-7].
  if (reported.size > MAX_STATE_KEYS) {
    throw new ProtocolError('invalid_message', `the reported state would have ${reported.size} keys; at most ${MAX_STATE_KEYS} (remove keys with null)`);
  }
  const newRefusals: string[] = [];
  if (!behind) {
    for (const [key, reason] of Object.entries(message.refused ?? {})) {
      const wanted = desired.get(key);
      // A refusal of a key with no desired value, or of one the device reports reached, means nothing.
      if (!wanted || reported.get(key)?.value === wanted.value) continue;
      const previous = refused.get(key);
      if (previous?.reason === reason && previous.value === wanted.value) continue;
      refused.set(key, { reason, value: wanted.value, ts: now });
      newRefusals.push(key);
    }
  }
  const shadow: Shadow = { version: current.version, reportedVersion: message.version ?? current.reportedVersion, reported, desired, refused };
  return { shadow, drifted: !behind && drifting.some((key) => !refused.has(key)), newRefusals };
}

/** Desired keys whose reported value differs (absent counts as different). */
function delta(s: Shadow): Record<string, StateValue> {
  return Object.fromEntries([...s.desired].filter(([key, e]) => s.reported.get(key)?.value !== e.value).map(([key, e]) => [key, e.value]));
}

export function toView(deviceId: string, s: Shadow): DeviceStateView {
  return {
    deviceId,
    version: s.version,
    reportedVersion: s.reportedVersion,
    reported: Object.fromEntries(s.reported),
    desired: Object.fromEntries(s.desired),
    delta: delta(s),
    refused: Object.fromEntries(s.refused),
  };
}

/** The `desired` message [FP-4.3]: the complete desired state, its version and the delta. */
export function desiredMessage(s: Shadow): DesiredMessage {
  return { v: 1, type: 'desired', state: desiredValues(s), version: s.version, delta: delta(s) };
}

/** The desired values by key, as the `desired` message carries them. */
function desiredValues(s: Shadow): Record<string, StateValue> {
  return Object.fromEntries([...s.desired].map(([key, e]) => [key, e.value]));
}

/**
 * The largest `desired` message this desired state can become: the delta is
 * at most every key (the device reset to other values). A patch is held to
 * this, so a reset device can always be sent its desired state [FP-7.2].
 */
export function largestDesiredMessage(s: Shadow): DesiredMessage {
  const state = desiredValues(s);
  return { v: 1, type: 'desired', state, version: s.version, delta: state };
}
