/**
 * Controls generated from what a device declared in `hello` [FP-4.1]: each
 * command becomes a button, a single widget (toggle, slider, number with its
 * range, enum select, text) or a small form, by its parameters' ParamSpecs.
 * A `turn_on`/`turn_off` pair on a device that reports an `on` state becomes
 * one power switch. No DOM: the components render these descriptions, and
 * the parameters they collect are checked here with the same function the
 * hub uses (commandProblem), so the page refuses exactly what the hub
 * would, in the field's words ("Target must be at most 30", not
 * `parameter "target" …`).
 */
import {
  commandProblem,
  desiredProblem,
  isFinalCommandState,
  type Capabilities,
  type CommandSpec,
  type CommandView,
  type LatestValue,
  type ParamSpec,
  type StateEntry,
  type StateKeySpec,
  type StateValue,
} from '@iot-hub/protocol';

export type Widget = 'toggle' | 'slider' | 'number' | 'select' | 'text';

export interface FieldSpec {
  /** The parameter (or state key) name. */
  name: string;
  label: string;
  widget: Widget;
  type: ParamSpec['type'];
  required: boolean;
  unit?: string;
  min?: number;
  max?: number;
  /** Input step: 1 for integers, a tenth-ish of the range's scale for numbers, 'any' without a range. */
  step?: number | 'any';
  options?: readonly string[];
  description?: string;
}

interface ControlBase {
  /** Stable key for the element and its feedback: the command name, or `switch:<on>`. */
  key: string;
  label: string;
  description?: string;
}

export type ControlSpec =
  /** One switch for a turn_on/turn_off pair, showing the `stateKey` the device reports. */
  | (ControlBase & { kind: 'switch'; stateKey: string; onCommand: string; offCommand: string })
  /** A command without parameters. */
  | (ControlBase & { kind: 'button'; command: string })
  /** A command with one required parameter: the widget sends it (a toggle, select or slider at once; a number or text with a Set button). */
  | (ControlBase & { kind: 'field'; command: string; field: FieldSpec })
  /** A command with several (or only optional) parameters: a form with a send button. */
  | (ControlBase & { kind: 'form'; command: string; fields: FieldSpec[] });

/** `set_target` → `Set target`, `brightnessLevel` → `Brightness level`. */
export function humanize(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_\-.]+/g, ' ')
    .trim()
    .toLowerCase();
  return words === '' ? name : words.charAt(0).toUpperCase() + words.slice(1);
}

/** Largest slider range: beyond it a slider cannot hit every integer, so a number input is used. */
const MAX_SLIDER_STEPS = 1000;

function numberStep(spec: ParamSpec): number | 'any' {
  if (spec.type === 'integer') return 1;
  if (spec.min === undefined || spec.max === undefined || spec.max <= spec.min) return 'any';
  // About 50 to 500 steps over the range, on a power of ten: 0.1 for 5-30 °C.
  return 10 ** Math.floor(Math.log10((spec.max - spec.min) / 50));
}

export function fieldFor(name: string, spec: ParamSpec): FieldSpec {
  const base: FieldSpec = { name, label: humanize(name), widget: 'text', type: spec.type, required: spec.required === true };
  if (spec.unit !== undefined) base.unit = spec.unit;
  if (spec.description !== undefined) base.description = spec.description;
  switch (spec.type) {
    case 'boolean':
      return { ...base, widget: 'toggle' };
    case 'enum':
      return { ...base, widget: 'select', options: spec.values ?? [] };
    case 'string':
      return base;
    case 'integer':
    case 'number': {
      const ranged = spec.min !== undefined && spec.max !== undefined && spec.max > spec.min;
      const slider = spec.type === 'integer' && ranged && (spec.max as number) - (spec.min as number) <= MAX_SLIDER_STEPS;
      const field: FieldSpec = { ...base, widget: slider ? 'slider' : 'number', step: numberStep(spec) };
      if (spec.min !== undefined) field.min = spec.min;
      if (spec.max !== undefined) field.max = spec.max;
      return field;
    }
  }
}

function hasRequiredParams(spec: CommandSpec | undefined): boolean {
  return Object.values(spec?.params ?? {}).some((param) => param.required === true);
}

/** The boolean the device reports as `key` (reported state, or a metric), if it has one. */
function reportsBoolean(key: string, capabilities: Capabilities, reported: Readonly<Record<string, StateEntry>>): boolean {
  return capabilities.metrics[key]?.type === 'boolean' || typeof reported[key]?.value === 'boolean';
}

/** The controls for a device, in the order it declared its commands; empty without capabilities. */
export function controlsFor(capabilities: Capabilities | null, reported: Readonly<Record<string, StateEntry>> = {}): ControlSpec[] {
  if (!capabilities) return [];
  const { commands } = capabilities;
  const controls: ControlSpec[] = [];
  const pairable =
    Object.hasOwn(commands, 'turn_on') &&
    Object.hasOwn(commands, 'turn_off') &&
    !hasRequiredParams(commands.turn_on) &&
    !hasRequiredParams(commands.turn_off) &&
    reportsBoolean('on', capabilities, reported);
  for (const [name, spec] of Object.entries(commands)) {
    if (pairable && (name === 'turn_on' || name === 'turn_off')) {
      if (name === 'turn_on') {
        controls.push({ kind: 'switch', key: 'switch:turn_on', label: 'Power', stateKey: 'on', onCommand: 'turn_on', offCommand: 'turn_off', description: 'turn_on / turn_off' });
      }
      continue;
    }
    const base: ControlBase = { key: name, label: humanize(name) };
    if (spec.description !== undefined) base.description = spec.description;
    const params = Object.entries(spec.params ?? {});
    if (params.length === 0) {
      controls.push({ ...base, kind: 'button', command: name });
    } else if (params.length === 1 && (params[0] as [string, ParamSpec])[1].required === true) {
      const [paramName, paramSpec] = params[0] as [string, ParamSpec];
      controls.push({ ...base, kind: 'field', command: name, field: fieldFor(paramName, paramSpec) });
    } else {
      controls.push({ ...base, kind: 'form', command: name, fields: params.map(([paramName, paramSpec]) => fieldFor(paramName, paramSpec)) });
    }
  }
  return controls;
}

function fits(field: FieldSpec, value: unknown): value is boolean | number | string {
  switch (field.type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'enum':
      return typeof value === 'string' && (field.options ?? []).includes(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
  }
}

/**
 * What a field shows before the operator touches it: the device's own value
 * of the same name (brightness for set_brightness), the newer of its
 * reported state and its latest metric (a tie goes to the metric, what the
 * device measures it is doing: a light off reads brightness 0 while its
 * state keeps the level it returns to), else a neutral default (the
 * minimum, the first option, off, empty). Optional fields start empty: left
 * so, they are not sent.
 */
export function initialValue(
  field: FieldSpec,
  reported: Readonly<Record<string, StateEntry>>,
  latest: Readonly<Record<string, LatestValue>>,
): boolean | number | string {
  const state = ownValue(reported, field.name);
  const metric = ownValue(latest, field.name);
  const candidates = state && metric && state.ts > metric.ts ? [state.value, metric.value] : [metric?.value, state?.value];
  for (const candidate of candidates) {
    if (fits(field, candidate)) {
      if (typeof candidate === 'number' && field.min !== undefined && candidate < field.min) return field.min;
      if (typeof candidate === 'number' && field.max !== undefined && candidate > field.max) return field.max;
      return candidate;
    }
  }
  if (!field.required && field.widget !== 'toggle') return '';
  switch (field.widget) {
    case 'toggle':
      return false;
    case 'select':
      return field.options?.[0] ?? '';
    case 'slider':
      return field.min ?? 0;
    default:
      return field.type === 'string' ? '' : (field.min ?? '');
  }
}

/** A widget's raw value: checkbox state, or an input's or select's text. */
export type RawValue = boolean | number | string;

/** One field's raw value as the typed parameter; undefined for an empty optional field. */
export function parseField(field: FieldSpec, raw: RawValue): { value?: unknown; error?: string } {
  if (field.type === 'boolean') return { value: raw === true || raw === 'true' };
  if (raw === '' || raw === undefined) {
    return field.required ? { error: `${field.label} is required` } : {};
  }
  if (field.type === 'integer' || field.type === 'number') {
    const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
    if (!Number.isFinite(value)) return { error: `${field.label} must be a number` };
    return { value };
  }
  return { value: String(raw) };
}

/**
 * The parameters to send for a command, or why not: each field parsed, then
 * the whole checked against the declaration exactly as the hub will.
 */
export function buildParams(
  capabilities: Capabilities,
  command: string,
  fields: readonly FieldSpec[],
  raw: Readonly<Record<string, RawValue>>,
): { params: Record<string, unknown> } | { error: string } {
  const params: Record<string, unknown> = {};
  for (const field of fields) {
    const parsed = parseField(field, raw[field.name] ?? '');
    if (parsed.error !== undefined) return { error: parsed.error };
    if ('value' in parsed) params[field.name] = parsed.value;
  }
  const problem = commandProblem(capabilities.commands, command, params);
  return problem === undefined ? { params } : { error: inFieldWords(problem, fields) };
}

/** The hub's `parameter "target" must be …` as the operator reads the field: `Target must be …`. */
function inFieldWords(problem: string, fields: readonly FieldSpec[]): string {
  return problem.replace(/^parameter "([^"]*)"/, (_match, name: string) => fields.find((field) => field.name === name)?.label ?? humanize(name));
}

export interface SwitchValue {
  /** What the switch shows; null while nothing is known. */
  on: boolean | null;
  /** A turn_on/turn_off is on its way: `on` shows where it is going. */
  pending: boolean;
}

/**
 * The power switch's position. Newest wins among the reported state, the
 * latest reading and the last turn_on/turn_off: while that command runs the
 * switch shows where it is going (optimistic), once it succeeded it shows
 * its result until the device reports something newer, and a command that
 * failed, timed out or expired leaves the device's own report in charge.
 */
export function switchValue(
  control: Extract<ControlSpec, { kind: 'switch' }>,
  reported: Readonly<Record<string, StateEntry>>,
  latest: Readonly<Record<string, LatestValue>>,
  lastCommand: CommandView | undefined,
): SwitchValue {
  let known: { on: boolean; ts: number } | null = null;
  for (const entry of [ownValue(reported, control.stateKey), ownValue(latest, control.stateKey)]) {
    if (entry && typeof entry.value === 'boolean' && (known === null || entry.ts > known.ts)) known = { on: entry.value, ts: entry.ts };
  }
  if (lastCommand && (lastCommand.name === control.onCommand || lastCommand.name === control.offCommand)) {
    const target = lastCommand.name === control.onCommand;
    if (!isFinalCommandState(lastCommand.state)) return { on: target, pending: true };
    if (lastCommand.state === 'succeeded' && (known === null || lastCommand.updatedAt > known.ts)) return { on: target, pending: false };
  }
  return { on: known?.on ?? null, pending: false };
}

/** The newest command (by creation) among `names`; the timeline is newest first. */
export function lastCommandOf(commands: readonly CommandView[], names: readonly string[]): CommandView | undefined {
  return commands.find((command) => names.includes(command.name));
}

/**
 * How to edit a desired-state key: by its declaration when the device
 * declared state keys [FP-4.1] (an enum's values, a number's range and
 * unit); else like the command parameter of the same name (an enum's
 * options, a number's range), else like the metric of that name, else by
 * the type of the value it has now.
 */
export function stateFieldFor(key: string, capabilities: Capabilities | null, current: StateValue | undefined): FieldSpec {
  const declared = capabilities?.state;
  if (declared && Object.hasOwn(declared, key)) {
    const { type, unit, min, max, values, description } = declared[key] as StateKeySpec;
    const spec: ParamSpec = { type, required: true };
    if (unit !== undefined) spec.unit = unit;
    if (min !== undefined) spec.min = min;
    if (max !== undefined) spec.max = max;
    if (values !== undefined) spec.values = values;
    if (description !== undefined) spec.description = description;
    const field = fieldFor(key, spec);
    // A number input, never a slider: the table edits in place and saves on submit.
    return field.widget === 'slider' ? { ...field, widget: 'number' } : field;
  }
  for (const spec of Object.values(capabilities?.commands ?? {})) {
    const param = spec.params?.[key];
    if (param) return { ...fieldFor(key, param), required: true };
  }
  const metric = capabilities?.metrics[key];
  if (metric) {
    const spec: ParamSpec = { type: metric.type, required: true };
    if (metric.unit !== undefined) spec.unit = metric.unit;
    if (metric.min !== undefined) spec.min = metric.min;
    if (metric.max !== undefined) spec.max = metric.max;
    return fieldFor(key, spec);
  }
  const type: ParamSpec['type'] = typeof current === 'boolean' ? 'boolean' : typeof current === 'number' ? 'number' : 'string';
  return fieldFor(key, { type, required: true });
}

/**
 * The desired value an edit of `key` would send, or why not: the draft
 * parsed, then checked against the device's declared state keys with the
 * hub's own rule (desiredProblem), so a refusal reads as the hub's 422
 * would. Without a declaration only the range the field shows is checked.
 */
export function desiredEditValue(
  key: string,
  field: FieldSpec,
  raw: RawValue,
  capabilities: Capabilities | null,
): { value: Exclude<StateValue, null> } | { error: string } {
  const parsed = parseField(field, raw);
  if (parsed.error !== undefined) return { error: parsed.error };
  const value = parsed.value as Exclude<StateValue, null>;
  const declared = capabilities?.state;
  if (declared !== undefined) {
    const problem = desiredProblem(declared, key, value);
    return problem === undefined ? { value } : { error: problem };
  }
  if (typeof value === 'number' && ((field.min !== undefined && value < field.min) || (field.max !== undefined && value > field.max))) {
    return { error: `must be between ${field.min ?? '−∞'} and ${field.max ?? '∞'}` };
  }
  return { value };
}

/** A value by a device-chosen name: own keys only, so `constructor` is not Object's. */
function ownValue<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}
