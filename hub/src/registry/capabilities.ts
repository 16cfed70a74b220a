/**
 * What the hub keeps of a `hello` [FP-4.1]: the fields it understands and
 * nothing else. Unknown fields are allowed on the wire (a newer firmware may
 * send more), but storing them would let a device park arbitrary JSON in the
 * registry, down to nesting deep enough to break JSON.stringify.
 */
import { DEFAULT_HEARTBEAT_SEC, type Capabilities, type CommandSpec, type HelloMessage, type MetricSpec, type ParamSpec } from '@iot-hub/protocol';

function pick<T extends object>(source: T, keys: readonly (keyof T)[]): T {
  const out = {} as T;
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

const METRIC_KEYS: readonly (keyof MetricSpec)[] = ['type', 'unit', 'min', 'max', 'description'];
const PARAM_KEYS: readonly (keyof ParamSpec)[] = ['type', 'unit', 'min', 'max', 'values', 'required', 'description'];

function commandSpec(spec: CommandSpec): CommandSpec {
  const out: CommandSpec = {};
  if (spec.description !== undefined) out.description = spec.description;
  if (spec.params !== undefined) {
    out.params = {};
    for (const [name, param] of Object.entries(spec.params)) out.params[name] = pick(param, PARAM_KEYS);
  }
  return out;
}

export function capabilitiesFromHello(hello: HelloMessage): Capabilities {
  const metrics: Record<string, MetricSpec> = {};
  for (const [name, spec] of Object.entries(hello.metrics ?? {})) metrics[name] = pick(spec, METRIC_KEYS);
  const commands: Record<string, CommandSpec> = {};
  for (const [name, spec] of Object.entries(hello.commands ?? {})) commands[name] = commandSpec(spec);
  const capabilities: Capabilities = { kind: hello.kind, metrics, commands, heartbeatSec: hello.heartbeatSec ?? DEFAULT_HEARTBEAT_SEC };
  if (hello.fw !== undefined) capabilities.fw = hello.fw;
  if (hello.model !== undefined) capabilities.model = hello.model;
  return capabilities;
}
