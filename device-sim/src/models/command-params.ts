/**
 * Checks a command against what the device declared in `hello` [FP-4.1]
 * before a model acts on it: a device SHOULD answer an unknown command or
 * bad parameters with `failed` and an `error` [FP-4.4]. The rules are the
 * protocol's own (the hub checks the same before it sends).
 */
import { commandProblem, type Capabilities } from '@iot-hub/protocol';
import type { CommandOutcome } from './model.js';

/** A `failed` outcome naming the problem, or undefined when the command may run. */
export function checkCommand(capabilities: Capabilities, name: string, params: Record<string, unknown>): CommandOutcome | undefined {
  const problem = commandProblem(capabilities.commands, name, params);
  return problem === undefined ? undefined : { status: 'failed', error: problem };
}
