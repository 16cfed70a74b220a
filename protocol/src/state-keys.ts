/**
 * Checks one desired value against the state keys a device declared in
 * `hello` [FP-4.1]: the key must be declared `settable` and the value must
 * match its spec. The hub answers `422 invalid_desired` with this text, and
 * the dashboard runs the same check before it sends, so an operator reads
 * one explanation in both places. Every text names the key and lists what
 * is allowed (the settable keys, the values, the range).
 */
import { MAX_STRING_LENGTH } from './limits.js';
import type { StateKeySpec, StateValue } from './messages.js';

/** The keys an operator may set, in the order the device declared them. */
export function settableKeys(declared: Readonly<Record<string, StateKeySpec>>): string[] {
  return Object.keys(declared).filter((key) => declared[key]?.settable === true);
}

/**
 * Why `value` may not become the desired value of `key`, or undefined when
 * it may. `null` (remove the key) is always allowed, and a device that
 * declared no state keys (`declared` undefined) takes any key, as in 1.0.
 */
export function desiredProblem(declared: Readonly<Record<string, StateKeySpec>> | undefined, key: string, value: StateValue): string | undefined {
  if (declared === undefined || value === null) return undefined;
  // hasOwn, not `in`: "constructor" is a valid key name, not Object's.
  const spec = Object.hasOwn(declared, key) ? declared[key] : undefined;
  if (spec?.settable !== true) {
    const settable = settableKeys(declared);
    const allowed = settable.length === 0 ? 'the device declares no settable state keys' : `settable keys: ${settable.join(', ')}`;
    return `state key "${key}" is ${spec ? 'not settable' : 'not declared'}; ${allowed}`;
  }
  const problem = valueProblem(spec, value);
  return problem === undefined ? undefined : `state key "${key}" ${problem}`;
}

function valueProblem(spec: StateKeySpec, value: Exclude<StateValue, null>): string | undefined {
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'string':
      // Code points, as the schema's maxLength counts them.
      return typeof value === 'string' && [...value].length <= MAX_STRING_LENGTH ? undefined : `must be a string of at most ${MAX_STRING_LENGTH} characters`;
    case 'enum':
      return typeof value === 'string' && (spec.values ?? []).includes(value) ? undefined : `must be one of ${(spec.values ?? []).join(', ')}`;
    case 'integer':
    case 'number': {
      const fits =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (spec.type === 'number' || Number.isInteger(value)) &&
        (spec.min === undefined || value >= spec.min) &&
        (spec.max === undefined || value <= spec.max);
      return fits ? undefined : `must be ${spec.type === 'integer' ? 'an integer' : 'a number'}${rangeText(spec)}`;
    }
  }
}

/** ` from 5 to 30`, ` of at least 0`, ` of at most 10`, or nothing. */
function rangeText(spec: StateKeySpec): string {
  const unit = spec.unit === undefined ? '' : ` ${spec.unit}`;
  if (spec.min !== undefined && spec.max !== undefined) return ` from ${spec.min} to ${spec.max}${unit}`;
  if (spec.min !== undefined) return ` of at least ${spec.min}${unit}`;
  if (spec.max !== undefined) return ` of at most ${spec.max}${unit}`;
  return '';
}
