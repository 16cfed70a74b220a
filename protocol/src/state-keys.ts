/**
 * Checks one desired value against the state keys a device declared in
 * `hello` [FP-4.1]: the key must be declared `settable` and the value must
 * match its spec. The dashboard runs it before it sends, in the words the
 * hub's `422 invalid_desired` uses for each key, so an operator reads one
 * explanation in both places. Every text names the key, what is allowed
 * (the settable keys, the values, the range) and what it got. A device may
 * use the value rule (stateValueProblem) to refuse a value it was sent
 * anyway [FP-4.3].
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
    return `state key ${JSON.stringify(key)} is ${spec ? 'not settable' : 'not declared'}; settable keys: ${settable.length === 0 ? 'none' : settable.join(', ')}`;
  }
  const problem = stateValueProblem(spec, value);
  return problem === undefined ? undefined : `state key ${JSON.stringify(key)} ${problem}, got ${JSON.stringify(value)}`;
}

/** Why `value` does not suit `spec` ("must be from 5 to 30"), or undefined when it does. */
export function stateValueProblem(spec: StateKeySpec, value: Exclude<StateValue, null>): string | undefined {
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'string':
      // Code points, as the schema's maxLength counts them.
      return typeof value === 'string' && [...value].length <= MAX_STRING_LENGTH ? undefined : `must be a string of at most ${MAX_STRING_LENGTH} characters`;
    case 'enum': {
      const values = spec.values ?? [];
      return typeof value === 'string' && values.includes(value) ? undefined : `must be one of ${values.join(', ')}`;
    }
    case 'integer':
    case 'number': {
      const range = rangeText(spec);
      const kind = spec.type === 'integer' ? 'a whole number' : 'a number';
      if (typeof value !== 'number' || !Number.isFinite(value) || (spec.type === 'integer' && !Number.isInteger(value))) return `must be ${kind}${range ? ` (${range})` : ''}`;
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) return `must be ${range}`;
      return undefined;
    }
  }
}

/** `from 5 to 30`, `at least 5`, `at most 30`, or '' when the spec gives no range. */
function rangeText(spec: StateKeySpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return `from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return `at least ${spec.min}`;
  if (spec.max !== undefined) return `at most ${spec.max}`;
  return '';
}
