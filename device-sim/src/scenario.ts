/**
 * Scenario files: a simulated home (or several) described in JSON, checked
 * with errors that name the path of every bad field, and expanded into a
 * fleet plan. The shape (every key but `rooms` optional):
 *
 *   {
 *     "name": "flat with a home office",
 *     "seed": 7, "idPrefix": "flat-", "transport": "mixed", "interval": "5s",
 *     "utcOffsetHours": 1, "homes": 1,
 *     "rooms": [
 *       {"name": "Living room", "devices": [
 *         {"kind": "thermostat"},
 *         {"kind": "dimmable-light", "label": "lamp", "count": 2, "transport": "ws", "interval": "10s"},
 *         {"kind": "contact-sensor", "variant": "window"}
 *       ]}
 *     ]
 *   }
 *
 * Unknown keys are errors, not ignored: a typo ("intervall") would
 * otherwise silently run something else than the author meant.
 */
import { MAX_HEARTBEAT_SEC, type Transport } from '@iot-hub/protocol';
import type { FaultOptions } from './faults.js';
import type { DevicePlan, FleetTransport } from './fleet.js';
import { MODEL_KINDS, modelDefinition } from './models/index.js';
import { hashSeed } from './random.js';

export interface ScenarioDevice {
  kind: string;
  label?: string;
  variant?: string;
  count: number;
  transport?: Transport;
  intervalMs?: number;
}

export interface ScenarioRoom {
  name: string;
  devices: ScenarioDevice[];
}

export interface Scenario {
  name?: string;
  seed: number;
  idPrefix: string;
  transport: FleetTransport;
  intervalMs: number;
  utcOffsetHours: number;
  homes: number;
  rooms: ScenarioRoom[];
  /** Faults every device commits; absent: none. */
  faults?: FaultOptions;
}

/** Most devices a scenario may expand to, as for --devices. */
export const MAX_SCENARIO_DEVICES = 100_000;
const MIN_INTERVAL_MS = 100;

export class ScenarioError extends Error {
  /** One line per problem, each starting with the path of the bad field. */
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(`${source}: ${problems.join('; ')}`);
    this.name = 'ScenarioError';
    this.problems = problems;
  }
}

/** Parses and checks a scenario; throws a ScenarioError listing every problem. */
export function parseScenario(text: string, source = 'scenario'): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(source, [`not valid JSON: ${(err as Error).message}`]);
  }
  const problems: string[] = [];
  const scenario = checkScenario(raw, problems);
  if (problems.length > 0 || !scenario) throw new ScenarioError(source, problems);
  return scenario;
}

function checkScenario(raw: unknown, problems: string[]): Scenario | undefined {
  if (!isObject(raw)) {
    problems.push('(root): must be an object');
    return undefined;
  }
  unknownKeys(raw, '', ['$comment', 'name', 'seed', 'idPrefix', 'transport', 'interval', 'utcOffsetHours', 'homes', 'rooms', 'faults'], problems);
  const field = new Fields(raw, '', problems);
  const name = field.string('name');
  const seed = field.integer('seed', 0, 2 ** 32 - 1) ?? 1;
  const idPrefix = field.string('idPrefix') ?? 'sim-';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/.test(idPrefix)) problems.push(`idPrefix: "${idPrefix}" is not a valid device id start (a letter or digit, then letters, digits, _ . -; at most 40 characters)`);
  const transport = field.oneOf('transport', ['mqtt', 'ws', 'mixed'] as const) ?? 'mixed';
  const intervalMs = field.duration('interval') ?? 5000;
  const utcOffsetHours = field.number('utcOffsetHours', -12, 14) ?? 0;
  const homes = field.integer('homes', 1, 10_000) ?? 1;

  const rooms: ScenarioRoom[] = [];
  if (!Array.isArray(raw.rooms) || raw.rooms.length === 0) {
    problems.push('rooms: must be a non-empty array of rooms');
  } else {
    raw.rooms.forEach((rawRoom: unknown, r) => {
      const path = `rooms[${r}]`;
      if (!isObject(rawRoom)) {
        problems.push(`${path}: must be an object`);
        return;
      }
      unknownKeys(rawRoom, path, ['name', 'devices'], problems);
      const roomFields = new Fields(rawRoom, path, problems);
      const roomName = roomFields.string('name', true) ?? '';
      const devices: ScenarioDevice[] = [];
      if (!Array.isArray(rawRoom.devices) || rawRoom.devices.length === 0) {
        problems.push(`${path}.devices: must be a non-empty array of devices`);
      } else {
        rawRoom.devices.forEach((rawDevice: unknown, d) => {
          const device = checkDevice(rawDevice, `${path}.devices[${d}]`, problems);
          if (device) devices.push(device);
        });
      }
      rooms.push({ name: roomName, devices });
    });
  }
  const total = homes * rooms.reduce((n, room) => n + room.devices.reduce((m, d) => m + d.count, 0), 0);
  if (total > MAX_SCENARIO_DEVICES) problems.push(`homes: ${homes} homes make ${total} devices, more than ${MAX_SCENARIO_DEVICES}`);
  const scenario: Scenario = { seed, idPrefix, transport, intervalMs, utcOffsetHours, homes, rooms };
  if (name !== undefined) scenario.name = name;
  if (raw.faults !== undefined) {
    const faults = checkFaults(raw.faults, problems);
    if (faults) scenario.faults = faults;
  }
  return scenario;
}

function checkDevice(raw: unknown, path: string, problems: string[]): ScenarioDevice | undefined {
  if (!isObject(raw)) {
    problems.push(`${path}: must be an object`);
    return undefined;
  }
  unknownKeys(raw, path, ['kind', 'label', 'variant', 'count', 'transport', 'interval'], problems);
  const field = new Fields(raw, path, problems);
  const kind = field.string('kind', true);
  if (kind !== undefined && !MODEL_KINDS.includes(kind)) problems.push(`${path}.kind: unknown kind "${kind}" (known: ${MODEL_KINDS.join(', ')})`);
  const device: ScenarioDevice = { kind: kind ?? '', count: field.integer('count', 1, MAX_SCENARIO_DEVICES) ?? 1 };
  const label = field.string('label');
  const variant = field.string('variant');
  const transport = field.oneOf('transport', ['mqtt', 'ws'] as const);
  const intervalMs = field.duration('interval');
  if (label !== undefined) device.label = label;
  if (variant !== undefined) device.variant = variant;
  if (transport !== undefined) device.transport = transport;
  if (intervalMs !== undefined) device.intervalMs = intervalMs;
  return device;
}

/** The `faults` object: durations like the intervals (clockSkew may be negative), rates from 0 to 1. */
function checkFaults(raw: unknown, problems: string[]): FaultOptions | undefined {
  if (!isObject(raw)) {
    problems.push('faults: must be an object');
    return undefined;
  }
  const keys = ['disconnectEvery', 'offlineEvery', 'offlineFor', 'clockSkew', 'duplicateRate', 'reorderRate', 'malformedRate', 'oversizeRate', 'stallEvery', 'stallFor', 'flapEvery', 'flapCount'] as const;
  unknownKeys(raw, 'faults', keys, problems);
  const field = new Fields(raw, 'faults', problems);
  const faults: FaultOptions = {};
  const set = <K extends keyof FaultOptions>(key: K, value: FaultOptions[K] | undefined): void => {
    if (value !== undefined) faults[key] = value;
  };
  set('disconnectEveryMs', field.duration('disconnectEvery', 1000, 7 * 24 * 3_600_000));
  set('offlineEveryMs', field.duration('offlineEvery', 1000, 7 * 24 * 3_600_000));
  set('offlineForMs', field.duration('offlineFor', 1000, 24 * 3_600_000));
  set('clockSkewMs', field.duration('clockSkew', 0, 365 * 24 * 3_600_000, true));
  set('duplicateRate', field.number('duplicateRate', 0, 1));
  set('reorderRate', field.number('reorderRate', 0, 1));
  set('malformedRate', field.number('malformedRate', 0, 1));
  set('oversizeRate', field.number('oversizeRate', 0, 1));
  set('stallEveryMs', field.duration('stallEvery', 1000, 7 * 24 * 3_600_000));
  set('stallForMs', field.duration('stallFor', 100, 3_600_000));
  set('flapEveryMs', field.duration('flapEvery', 1000, 7 * 24 * 3_600_000));
  set('flapCount', field.integer('flapCount', 1, 100));
  return faults;
}

/** Expands a scenario into the devices of the fleet, in order: homes, rooms, devices. */
export function planScenario(scenario: Scenario): DevicePlan[] {
  const places: { room: string; device: ScenarioDevice; home: number; nth: number }[] = [];
  for (let home = 0; home < scenario.homes; home++) {
    for (const room of scenario.rooms) {
      for (const device of room.devices) {
        for (let nth = 0; nth < device.count; nth++) places.push({ room: room.name, device, home, nth });
      }
    }
  }
  const width = String(places.length).length;
  return places.map(({ room, device, home, nth }, i) => {
    const definition = modelDefinition(device.kind);
    const id = `${scenario.idPrefix}${definition.idStem}-${String(i + 1).padStart(width, '0')}`;
    const transport: Transport = device.transport ?? (scenario.transport === 'mixed' ? (i % 2 === 0 ? 'mqtt' : 'ws') : scenario.transport);
    const homeName = scenario.homes > 1 ? `Home ${home + 1} ` : '';
    const plan: DevicePlan = {
      id,
      kind: definition.kind,
      name: `${homeName}${room} ${device.label ?? definition.label}${device.count > 1 ? ` ${nth + 1}` : ''}`,
      transport,
      seed: hashSeed(scenario.seed, id),
      room,
      intervalMs: device.intervalMs ?? scenario.intervalMs,
    };
    if (device.variant !== undefined) plan.variant = device.variant;
    return plan;
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownKeys(raw: Record<string, unknown>, path: string, known: readonly string[], problems: string[]): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) problems.push(`${at(path, key)}: unknown field (known: ${known.filter((k) => k !== '$comment').join(', ')})`);
  }
}

function at(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Typed reads of an object's fields; each problem is pushed with its path. */
class Fields {
  constructor(
    private readonly raw: Record<string, unknown>,
    private readonly path: string,
    private readonly problems: string[],
  ) {}

  string(key: string, required = false): string | undefined {
    const value = this.raw[key];
    if (value === undefined) {
      if (required) this.problems.push(`${at(this.path, key)}: is required`);
      return undefined;
    }
    if (typeof value !== 'string' || value.trim() === '') return this.#bad(key, 'must be a non-empty string', value);
    return value;
  }

  number(key: string, min: number, max: number): number | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) return this.#bad(key, `must be a number from ${min} to ${max}`, value);
    return value;
  }

  integer(key: string, min: number, max: number): number | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return this.#bad(key, `must be a whole number from ${min} to ${max}`, value);
    return value;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) return this.#bad(key, `must be one of ${values.join(', ')}`, value);
    return value as T;
  }

  /**
   * "500ms", "5s", "1m", "2h" or a number of ms, within [min, max] (default:
   * a sample interval, 100 ms to the longest heartbeat); `signed` allows a
   * leading "-" (a clock behind).
   */
  duration(key: string, min = MIN_INTERVAL_MS, max = MAX_HEARTBEAT_SEC * 1000, signed = false): number | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    const ms = parseMs(value, signed);
    if (ms === undefined || Math.abs(ms) < min || Math.abs(ms) > max) {
      return this.#bad(key, `must be a duration from ${formatMs(min)} to ${formatMs(max)}${signed ? ' (or minus that)' : ''}, like "500ms", "5s" or "1m"`, value);
    }
    return ms;
  }

  #bad(key: string, rule: string, value: unknown): undefined {
    this.problems.push(`${at(this.path, key)}: ${rule}, got ${JSON.stringify(value)}`);
    return undefined;
  }
}

function parseMs(value: unknown, signed: boolean): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && (signed || value >= 0) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^(-?)(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match || (match[1] && !signed)) return undefined;
  const ms = Math.round(Number(match[2]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[3] ?? 'ms') as 'ms' | 's' | 'm' | 'h']);
  return match[1] ? -ms : ms;
}

/** 100 → "100ms", 3600000 → "3600s": the way the limits read in messages. */
function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}
