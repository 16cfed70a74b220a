/**
 * What the state service checks on a desired patch before anything is
 * stored or sent: each value against the state keys the device declared in
 * `hello` [FP-4.1], like command-checks.ts does for commands. A device that
 * declared no `state` takes any key, as in 1.0.
 */
import { ProtocolError, type StateKeySpec, type StateValue } from '@iot-hub/protocol';
import type { DeviceRecord } from '../registry/registry-store.js';

/**
 * Throws `invalid_desired` naming every key that cannot apply, with the
 * reason and what would; `null` (remove the key) always passes, so an
 * operator can clear a key the device no longer declares.
 */
export function checkDesired(device: DeviceRecord, patch: Readonly<Record<string, StateValue>>): void {
  const declared = device.capabilities?.state;
  if (!declared) return;
  const problems: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) continue;
    // hasOwn: "constructor" or "__proto__" are keys like any other, never the prototype's.
    const spec = Object.hasOwn(declared, key) ? declared[key] : undefined;
    if (!spec?.settable) {
      const why = spec ? 'is not settable' : `is not declared by device ${JSON.stringify(device.id)}`;
      problems.push(`state key ${JSON.stringify(key)} ${why}; settable keys: ${settableKeys(declared)}`);
      continue;
    }
    const problem = valueProblem(spec, value);
    if (problem) problems.push(`state key ${JSON.stringify(key)} ${problem}, got ${JSON.stringify(value)}`);
  }
  if (problems.length > 0) throw new ProtocolError('invalid_desired', problems.join('; '));
}

function settableKeys(declared: Readonly<Record<string, StateKeySpec>>): string {
  const names = Object.entries(declared).filter(([, spec]) => spec.settable).map(([name]) => name);
  return names.length === 0 ? 'none' : names.join(', ');
}

function valueProblem(spec: StateKeySpec, value: Exclude<StateValue, null>): string | undefined {
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'string':
      // The API already holds strings to MAX_STRING_LENGTH.
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
