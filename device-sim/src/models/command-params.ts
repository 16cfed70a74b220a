/**
 * Checks a command against what the device declared in `hello` [FP-4.1]
 * before a model acts on it: a device SHOULD answer an unknown command or
 * bad parameters with `failed` and an `error` [FP-4.4]. Models call this
 * first, so every model validates the same way and its errors read alike.
 */
import type { Capabilities, CommandSpec, ParamSpec } from '@iot-hub/protocol';
import type { CommandOutcome } from './model.js';

/** A `failed` outcome naming the problem, or undefined when the command may run. */
export function checkCommand(capabilities: Capabilities, name: string, params: Record<string, unknown>): CommandOutcome | undefined {
  // hasOwn, not `in`: "constructor" or "__proto__" are no commands.
  if (!Object.hasOwn(capabilities.commands, name)) return failed(`unknown command "${name}"`);
  const spec = capabilities.commands[name] as CommandSpec;
  const declared = spec.params ?? {};
  for (const key of Object.keys(params)) {
    if (!Object.hasOwn(declared, key)) return failed(`unknown parameter "${key}"`);
  }
  for (const [key, param] of Object.entries(declared)) {
    const value = params[key];
    if (value === undefined) {
      if (param.required) return failed(`missing parameter "${key}"`);
      continue;
    }
    const problem = checkParam(param, value);
    if (problem) return failed(`parameter "${key}" ${problem}`);
  }
  return undefined;
}

function checkParam(spec: ParamSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'string':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'enum':
      return typeof value === 'string' && (spec.values ?? []).includes(value)
        ? undefined
        : `must be one of ${(spec.values ?? []).join(', ')}`;
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a number`;
      if (spec.type === 'integer' && !Number.isInteger(value)) return 'must be an integer';
      if (spec.min !== undefined && value < spec.min) return `must be at least ${spec.min}`;
      if (spec.max !== undefined && value > spec.max) return `must be at most ${spec.max}`;
      return undefined;
    }
  }
}

function failed(error: string): CommandOutcome {
  return { status: 'failed', error };
}
