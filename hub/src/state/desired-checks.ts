/**
 * What the state service checks on a desired patch before anything is
 * stored or sent: each value against the state keys the device declared in
 * `hello` [FP-4.1], like command-checks.ts does for commands. A device that
 * declared no `state` takes any key, as in 1.0.
 */
import { ProtocolError, desiredProblem, type StateValue } from '@iot-hub/protocol';
import type { DeviceRecord } from '../registry/registry-store.js';

/**
 * Throws `invalid_desired` naming every key that cannot apply, with the
 * reason and what would (the rule the dashboard checks with too); `null`
 * (remove the key) always passes, so an operator can clear a key the device
 * no longer declares.
 */
export function checkDesired(device: DeviceRecord, patch: Readonly<Record<string, StateValue>>): void {
  const declared = device.capabilities?.state;
  const problems: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    const problem = desiredProblem(declared, key, value);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) throw new ProtocolError('invalid_desired', problems.join('; '));
}
