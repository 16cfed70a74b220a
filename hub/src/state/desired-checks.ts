/**
 * What the state service checks on a desired patch before anything is
 * stored or sent: each value against the state keys the device declared in
 * `hello` [FP-4.1], like command-checks.ts does for commands. A device that
 * declared no `state` takes any key, as in 1.0.
 */
import { ProtocolError, stateValueProblem, type StateKeySpec, type StateValue } from '@iot-hub/protocol';
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
    // The API already holds strings to MAX_STRING_LENGTH.
    const problem = stateValueProblem(spec, value);
    if (problem) problems.push(`state key ${JSON.stringify(key)} ${problem}, got ${JSON.stringify(value)}`);
  }
  if (problems.length > 0) throw new ProtocolError('invalid_desired', problems.join('; '));
}

function settableKeys(declared: Readonly<Record<string, StateKeySpec>>): string {
  const names = Object.entries(declared).filter(([, spec]) => spec.settable).map(([name]) => name);
  return names.length === 0 ? 'none' : names.join(', ');
}
