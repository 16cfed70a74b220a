/**
 * Checks a command against what the device declared in `hello` [FP-4.1].
 * The hub runs it before it queues a command (so an operator learns of a
 * typo at once), and the simulator runs it as firmware would [FP-4.4]: one
 * definition, so both explain a refusal in the same words.
 */
import type { CommandSpec, ParamSpec } from './messages.js';

/** Why the command may not run, or undefined when it may. */
export function commandProblem(commands: Readonly<Record<string, CommandSpec>>, name: string, params: Readonly<Record<string, unknown>>): string | undefined {
  // hasOwn, not `in`: "constructor" or "__proto__" are no commands.
  if (!Object.hasOwn(commands, name)) return `unknown command "${name}"`;
  const spec = commands[name] as CommandSpec;
  const declared = spec.params ?? {};
  for (const key of Object.keys(params)) {
    if (!Object.hasOwn(declared, key)) return `unknown parameter "${key}"`;
  }
  for (const [key, param] of Object.entries(declared)) {
    // Own keys only: params["__proto__"] of a plain object is Object.prototype, not a missing parameter.
    const value = Object.hasOwn(params, key) ? params[key] : undefined;
    if (value === undefined) {
      if (param.required) return `missing parameter "${key}"`;
      continue;
    }
    const problem = paramProblem(param, value);
    if (problem) return `parameter "${key}" ${problem}`;
  }
  return undefined;
}

function paramProblem(spec: ParamSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'string':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'enum':
      return typeof value === 'string' && (spec.values ?? []).includes(value) ? undefined : `must be one of ${(spec.values ?? []).join(', ')}`;
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
