/**
 * Whether a value suits a state key a device declared in `hello.state`
 * [FP-4.1]: the hub refuses a desired value that does not (422
 * invalid_desired), and a device may use the same rule to refuse one it was
 * sent anyway [FP-4.3]. Shared so both say the same thing.
 */
import type { StateKeySpec, StateValue } from './messages.js';

/** Why `value` does not suit `spec` ("must be from 5 to 30"), or undefined when it does. */
export function stateValueProblem(spec: StateKeySpec, value: Exclude<StateValue, null>): string | undefined {
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'string':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'enum': {
      const values = spec.values ?? [];
      return typeof value === 'string' && values.includes(value) ? undefined : `must be one of ${values.join(', ')}`;
    }
    case 'integer':
    case 'number': {
      const range = rangeText(spec);
      const kind = spec.type === 'integer' ? 'a whole number' : 'a number';
      if (typeof value !== 'number' || (spec.type === 'integer' && !Number.isInteger(value))) return `must be ${kind}${range ? ` (${range})` : ''}`;
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) return `must be ${range}`;
      return undefined;
    }
  }
}

/** "from 5 to 30", "at least 5", "at most 30", or "" when the spec gives no range. */
function rangeText(spec: StateKeySpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return `from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return `at least ${spec.min}`;
  if (spec.max !== undefined) return `at most ${spec.max}`;
  return '';
}
