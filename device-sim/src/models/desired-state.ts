/**
 * How a simulated device takes a desired-state snapshot [FP-4.3]: it applies
 * the keys it declares settable with values that suit their spec, and
 * refuses the others with a reason, which it reports back as `refused` so
 * operators see why a key stays in the delta. The hub already refuses such
 * values for a device that declared its state, but not ones set before the
 * device's first `hello`, or before a firmware update changed its keys.
 */
import { stateValueProblem, type Capabilities, type StateValue } from '@iot-hub/protocol';

export interface SortedDesired {
  /** Settable keys with values that suit their spec. */
  apply: Record<string, Exclude<StateValue, null>>;
  /** Every other desired key, with the reason the device cannot apply it. */
  refused: Record<string, string>;
}

export function sortDesired(capabilities: Capabilities, desired: Readonly<Record<string, StateValue>>): SortedDesired {
  const declared = capabilities.state ?? {};
  // Null-prototype: desired keys are chosen by operators, and `__proto__` is a valid name.
  const apply = Object.create(null) as SortedDesired['apply'];
  const refused = Object.create(null) as SortedDesired['refused'];
  for (const [key, value] of Object.entries(desired)) {
    // A null value has no desired value: nothing to apply [FP-4.3].
    if (value === null) continue;
    const spec = Object.hasOwn(declared, key) ? declared[key] : undefined;
    const problem = !spec ? 'unknown state key' : !spec.settable ? 'reported only, not settable' : stateValueProblem(spec, value);
    if (problem) refused[key] = problem;
    else apply[key] = value;
  }
  return { apply, refused };
}
