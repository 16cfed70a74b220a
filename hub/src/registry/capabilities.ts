/**
 * What the hub keeps of a `hello` [FP-4.1]: the fields it understands and
 * nothing else. Unknown fields are allowed on the wire (a newer firmware may
 * send more), but storing them would let a device park arbitrary JSON in the
 * registry, down to nesting deep enough to break JSON.stringify.
 */
import {
  DEFAULT_HEARTBEAT_SEC,
  MAX_PAYLOAD_BYTES,
  type Capabilities,
  type CommandSpec,
  type HelloMessage,
  type MetricSpec,
  type ParamSpec,
  type StateKeySpec,
} from '@iot-hub/protocol';

function pick<T extends object>(source: T, keys: readonly (keyof T)[]): T {
  const out = {} as T;
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

const METRIC_KEYS: readonly (keyof MetricSpec)[] = ['type', 'unit', 'min', 'max', 'description'];
const PARAM_KEYS: readonly (keyof ParamSpec)[] = ['type', 'unit', 'min', 'max', 'values', 'required', 'description'];
const STATE_KEYS: readonly (keyof StateKeySpec)[] = ['type', 'unit', 'min', 'max', 'values', 'settable', 'description'];

/**
 * Device-chosen names become keys here: fromEntries defines own properties,
 * so `__proto__` or `constructor` is a name like any other instead of
 * changing or shadowing the object's prototype.
 */
function byName<T, U>(source: Record<string, T> | undefined, map: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(source ?? {}).map(([name, value]) => [name, map(value)]));
}

function commandSpec(spec: CommandSpec): CommandSpec {
  const out: CommandSpec = {};
  if (spec.description !== undefined) out.description = spec.description;
  if (spec.params !== undefined) out.params = byName(spec.params, (param: ParamSpec) => pick(param, PARAM_KEYS));
  return out;
}

export function capabilitiesFromHello(hello: HelloMessage): Capabilities {
  const metrics = byName(hello.metrics, (spec: MetricSpec) => pick(spec, METRIC_KEYS));
  const commands = byName(hello.commands, commandSpec);
  const capabilities: Capabilities = { kind: hello.kind, metrics, commands, heartbeatSec: hello.heartbeatSec ?? DEFAULT_HEARTBEAT_SEC };
  if (hello.fw !== undefined) capabilities.fw = hello.fw;
  if (hello.model !== undefined) capabilities.model = hello.model;
  // Absent and `{}` differ: a device that declares no state takes any desired key, as in 1.0 [FP-4.1].
  if (hello.state !== undefined) capabilities.state = byName(hello.state, (spec: StateKeySpec) => pick(spec, STATE_KEYS));
  if (hello.boot !== undefined) capabilities.boot = hello.boot;
  if (hello.maxMessageBytes !== undefined) capabilities.maxMessageBytes = hello.maxMessageBytes;
  return capabilities;
}

/** The largest hub → device message this device takes [FP-7.2]: its declared buffer, never more than the protocol's limit. */
export function deviceMessageLimit(capabilities: Capabilities | null | undefined): number {
  return Math.min(capabilities?.maxMessageBytes ?? MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES);
}
