/**
 * Command-line parsing of `device-sim`, kept pure (argv and env in, a
 * validated command out) so it is tested without spawning. Every mistake is
 * a UsageError with one clear line; cli.ts prints it and exits 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEVICE_ID_MAX_LENGTH, MAX_HEARTBEAT_SEC } from '@iot-hub/protocol';
import type { FaultOptions } from './faults.js';
import type { FleetTransport } from './fleet.js';
import { MODEL_KINDS } from './models/index.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const HELP = `device-sim: simulated devices for the IoT hub

Usage:
  device-sim [options]        run a fleet of simulated devices until Ctrl-C
  device-sim load [options]   load mode: MQTT devices publishing flat out, then a report

Hub:
  --hub URL             hub HTTP URL (env HUB_URL; default http://localhost:8080)
  --mqtt URL            hub MQTT URL (env HUB_MQTT_URL; default mqtt://<hub host>:1883)
  --admin-token TOKEN   admin token, to provision devices (env HUB_ADMIN_TOKEN)
  --credentials FILE    reuse device tokens from FILE ({"devices":[{"id","token","kind"}]});
                        devices missing from it are provisioned and FILE is rewritten

Devices (both modes):
  --devices N           number of devices (fleet default 10, load default 100)
  --id-prefix P         prefix of device ids (fleet default "sim-", load default "load-")
                        Simulated devices own their ids: an existing device with the
                        same id is deleted and provisioned again.

Fleet:
  --scenario FILE       run the home described in FILE (JSON) instead of --devices, --kinds,
                        --transport, --interval and --seed (--id-prefix still overrides):
                        {"seed": 7, "idPrefix": "flat-", "transport": "mixed", "interval": "5s",
                         "utcOffsetHours": 1, "homes": 1,
                         "rooms": [{"name": "Kitchen", "devices": [
                           {"kind": "smart-plug", "label": "kettle", "count": 1,
                            "transport": "ws", "interval": "10s", "variant": "..."}]}]}
                        Only "rooms" is required; a bad field is named by its path
                        (rooms[0].devices[1].kind). Example: device-sim/scenarios/
  --transport T         mqtt | ws | mixed (default mixed: alternating)
  --interval D          time between samples of each device: 500ms, 5s, 1m (default 5s)
  --seed N              seed of every simulated value (default 1)
  --kinds LIST          comma-separated device kinds, repeated to fill the fleet
                        (known: ${MODEL_KINDS.join(', ')};
                        default: a home of one or two of each kind, by room)

Faults (fleet; for reliability tests; a scenario's "faults" takes the same, flags win):
  --disconnect-every D  drop each device's link abruptly every D on average; it
                        reconnects with backoff
  --flap-every D        a network flap every D on average: --flap-count N drops in a
                        row (default 3), each as soon as the device is back
  --offline-every D     take each device offline cleanly every D on average ...
  --offline-for D       ... for D each time (default 30s)
  --clock-skew D        add D to every telemetry ts; behind: --clock-skew=-2m
                        (beyond 5 minutes the hub refuses with bad_timestamp)
  --duplicate-rate P    share 0..1 of samples resent with the same seq
  --reorder-rate P      share 0..1 of samples sent after the next one
  --malformed-rate P    chance 0..1 per sample of also sending a malformed message
                        (bad_json, invalid_message, unsupported_version, unknown_type)
  --oversize-rate P     chance 0..1 per sample of also sending a message over 64 KiB
                        (the hub closes the connection; the device reconnects)
  --stall-every D       make each device a slow reader every D on average ...
  --stall-for D         ... for D each time (default 10s): it stops reading acks and
                        commands while its sends still go out

Load:
  --duration D          how long to publish: 15s, 1m (default 15s)
  --qos 0|1             QoS of the telemetry publishes (default 1)
  --inflight K          most messages in flight per device (default 4)
  --rate N              aggregate msgs/s (default: flat out)
  --json                print the report as JSON instead of a table

  -h, --help            this help

Exit codes: 0 done, 1 failed (hub unreachable, refused ...), 2 bad usage.
`;

export interface CommonArgs {
  hubUrl: string;
  mqttUrl: string;
  adminToken: string | undefined;
  credentials: string | undefined;
  devices: number;
  idPrefix: string;
}

export type CliCommand =
  | { command: 'help' }
  | (CommonArgs & {
      command: 'fleet';
      transport: FleetTransport;
      intervalMs: number;
      seed: number;
      kinds: string[] | undefined;
      /** Path of a scenario file; it replaces devices, kinds, transport, interval and seed. */
      scenario: string | undefined;
      /** --id-prefix as given (it overrides a scenario's idPrefix). */
      idPrefixFlag: string | undefined;
      /** Fault flags given; they override a scenario's faults key by key. */
      faults: FaultOptions;
    })
  | (CommonArgs & { command: 'load'; durationMs: number; qos: 0 | 1; inflight: number; rate: number | undefined; json: boolean });

const OPTIONS = {
  hub: { type: 'string' },
  mqtt: { type: 'string' },
  'admin-token': { type: 'string' },
  credentials: { type: 'string' },
  devices: { type: 'string' },
  'id-prefix': { type: 'string' },
  transport: { type: 'string' },
  interval: { type: 'string' },
  seed: { type: 'string' },
  kinds: { type: 'string' },
  scenario: { type: 'string' },
  'disconnect-every': { type: 'string' },
  'offline-every': { type: 'string' },
  'offline-for': { type: 'string' },
  'clock-skew': { type: 'string' },
  'duplicate-rate': { type: 'string' },
  'reorder-rate': { type: 'string' },
  'malformed-rate': { type: 'string' },
  'oversize-rate': { type: 'string' },
  'stall-every': { type: 'string' },
  'stall-for': { type: 'string' },
  'flap-every': { type: 'string' },
  'flap-count': { type: 'string' },
  duration: { type: 'string' },
  qos: { type: 'string' },
  inflight: { type: 'string' },
  rate: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const FAULT_FLAGS = [
  'disconnect-every',
  'offline-every',
  'offline-for',
  'clock-skew',
  'duplicate-rate',
  'reorder-rate',
  'malformed-rate',
  'oversize-rate',
  'stall-every',
  'stall-for',
  'flap-every',
  'flap-count',
] as const;
const FLEET_ONLY = ['transport', 'interval', 'seed', 'kinds', 'scenario', ...FAULT_FLAGS] as const;
/** What a scenario file says instead. */
const SCENARIO_REPLACES = ['devices', 'kinds', 'transport', 'interval', 'seed'] as const;
const LOAD_ONLY = ['duration', 'qos', 'inflight', 'rate', 'json'] as const;

export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliCommand {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(describeParseError(err as Error & { code?: string }));
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };

  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const mode = positionals[0] ?? 'fleet';
  if (mode !== 'fleet' && mode !== 'load') throw new UsageError(`unknown command "${mode}" (commands: load; none runs a fleet)`);

  const misplaced = (mode === 'load' ? FLEET_ONLY : LOAD_ONLY).find((name) => values[name] !== undefined);
  if (misplaced) throw new UsageError(`--${misplaced} is for ${mode === 'load' ? 'fleet' : 'load'} mode, not ${mode}`);

  const hubUrl = parseUrl('--hub', values.hub ?? env.HUB_URL ?? 'http://localhost:8080', ['http:', 'https:']);
  const mqttUrl = parseUrl('--mqtt', values.mqtt ?? env.HUB_MQTT_URL ?? `mqtt://${new URL(hubUrl).hostname}:1883`, ['mqtt:', 'mqtts:', 'tcp:']);
  const adminToken = values['admin-token'] ?? (env.HUB_ADMIN_TOKEN || undefined);
  if (values['admin-token'] === '') throw new UsageError('--admin-token is empty');
  const idPrefix = values['id-prefix'] ?? (mode === 'load' ? 'load-' : 'sim-');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/.test(idPrefix) || idPrefix.length > DEVICE_ID_MAX_LENGTH - 16) {
    throw new UsageError(`--id-prefix "${idPrefix}" is not a valid device id start (letters, digits, _ . : -; at most ${DEVICE_ID_MAX_LENGTH - 16} characters)`);
  }
  const common: CommonArgs = {
    hubUrl,
    mqttUrl,
    adminToken,
    credentials: values.credentials,
    devices: parseInteger('--devices', values.devices, mode === 'load' ? 100 : 10, 1, 100_000),
    idPrefix,
  };
  if (!adminToken && !common.credentials) {
    throw new UsageError('an admin token is needed to provision devices: pass --admin-token or set HUB_ADMIN_TOKEN (or give --credentials)');
  }

  if (mode === 'fleet') {
    if (values.scenario !== undefined) {
      const clash = SCENARIO_REPLACES.find((name) => values[name] !== undefined);
      if (clash) throw new UsageError(`--${clash} does not go with --scenario: the scenario file says that`);
      if (values.scenario === '') throw new UsageError('--scenario is empty');
    }
    const transport = values.transport ?? 'mixed';
    if (transport !== 'mqtt' && transport !== 'ws' && transport !== 'mixed') {
      throw new UsageError(`--transport must be mqtt, ws or mixed, got "${transport}"`);
    }
    const intervalMs = parseDuration('--interval', values.interval ?? '5s');
    if (intervalMs < 100 || intervalMs > MAX_HEARTBEAT_SEC * 1000) throw new UsageError(`--interval must be between 100ms and ${MAX_HEARTBEAT_SEC}s`);
    const kinds = values.kinds?.split(',').map((kind) => kind.trim());
    const unknownKind = kinds?.find((kind) => !MODEL_KINDS.includes(kind));
    if (unknownKind !== undefined) throw new UsageError(`--kinds: unknown kind "${unknownKind}" (known: ${MODEL_KINDS.join(', ')})`);
    return {
      command: 'fleet',
      ...common,
      transport,
      intervalMs,
      seed: parseInteger('--seed', values.seed, 1, 0, 2 ** 32 - 1),
      kinds,
      scenario: values.scenario,
      idPrefixFlag: values['id-prefix'],
      faults: parseFaultFlags(values),
    };
  }

  const qos = values.qos ?? '1';
  if (qos !== '0' && qos !== '1') throw new UsageError(`--qos must be 0 or 1, got "${qos}"`);
  return {
    command: 'load',
    ...common,
    durationMs: parseDuration('--duration', values.duration ?? '15s'),
    qos: qos === '0' ? 0 : 1,
    inflight: parseInteger('--inflight', values.inflight, 4, 1, 1000),
    rate: values.rate === undefined ? undefined : parseInteger('--rate', values.rate, 0, 1, 10_000_000),
    json: values.json ?? false,
  };
}

function parseFaultFlags(values: Partial<Record<(typeof FAULT_FLAGS)[number], string>>): FaultOptions {
  const faults: FaultOptions = {};
  const every = (flag: (typeof FAULT_FLAGS)[number]): number | undefined => {
    const text = values[flag];
    return text === undefined ? undefined : parseDuration(`--${flag}`, text);
  };
  const rate = (flag: (typeof FAULT_FLAGS)[number]): number | undefined => {
    const text = values[flag];
    if (text === undefined) return undefined;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${flag} must be a number from 0 to 1, got "${text}"`);
    return n;
  };
  const entries: [keyof FaultOptions, number | undefined][] = [
    ['disconnectEveryMs', every('disconnect-every')],
    ['offlineEveryMs', every('offline-every')],
    ['offlineForMs', every('offline-for')],
    ['duplicateRate', rate('duplicate-rate')],
    ['reorderRate', rate('reorder-rate')],
    ['malformedRate', rate('malformed-rate')],
    ['oversizeRate', rate('oversize-rate')],
    ['stallEveryMs', every('stall-every')],
    ['stallForMs', every('stall-for')],
    ['flapEveryMs', every('flap-every')],
    ['flapCount', values['flap-count'] === undefined ? undefined : parseInteger('--flap-count', values['flap-count'], 3, 1, 100)],
  ];
  const skew = values['clock-skew'];
  if (skew !== undefined) {
    const behind = skew.trim().startsWith('-');
    const ms = parseDuration('--clock-skew', behind ? skew.trim().slice(1) : skew);
    entries.push(['clockSkewMs', behind ? -ms : ms]);
  }
  for (const [key, value] of entries) if (value !== undefined) faults[key] = value;
  return faults;
}

/** "500ms", "5s", "1.5m", "2h", or bare milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag} must be a duration like 500ms, 5s, 1m or 2h, got "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(match[1]) * unit);
  if (ms <= 0) throw new UsageError(`${flag} must be more than zero, got "${text}"`);
  return ms;
}

function parseInteger(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag} must be a whole number, got "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function parseUrl(flag: string, text: string, protocols: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${flag} must be a URL like ${protocols[0]}//localhost:1234, got "${text}"`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new UsageError(`${flag} must use ${protocols.map((p) => p.replace(':', '')).join(' or ')}, got "${text}"`);
  }
  return text.replace(/\/+$/, '');
}

/** node:util's messages are long and suggest `--`; keep the part that names the problem. */
function describeParseError(err: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? err.message} (see device-sim --help)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return option && /argument missing/.test(err.message) ? `${option} needs a value` : err.message.split('. ')[0] ?? err.message;
    default:
      return err.message.split('. ')[0] ?? err.message;
  }
}
