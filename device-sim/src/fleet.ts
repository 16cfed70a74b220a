/**
 * A fleet of simulated devices: plan ids, kinds and transports from a seed,
 * provision them (or reuse given credentials), connect them in parallel
 * batches and run them until stop(). `npm run demo` uses this for a
 * simulated home.
 */
import type { ProvisionRequest, Transport } from '@iot-hub/protocol';
import { silentLogger, type SimLogger } from './log.js';
import { emptyFaultStats, type FaultOptions, type FaultStats } from './faults.js';
import { DEFAULT_HOME, type HomeDevice } from './home.js';
import { modelDefinition } from './models/index.js';
import { mapConcurrent, provisionDevices, type DeviceCredentials } from './provision.js';
import { hashSeed } from './random.js';
import { SimulatedDevice } from './simulated-device.js';
import type { DeviceConnection } from './transports/connection.js';
import { MqttDevice } from './transports/mqtt-device.js';
import { WsDevice, deviceWsUrl } from './transports/ws-device.js';

export type FleetTransport = Transport | 'mixed';

export interface FleetOptions {
  /** Hub HTTP base URL, e.g. http://localhost:8080 (API and /ws/device). */
  hubUrl: string;
  /** Hub MQTT URL, e.g. mqtt://localhost:1883. */
  mqttUrl: string;
  /** Needed to provision devices that have no credentials yet. */
  adminToken?: string;
  /** Number of devices. */
  devices: number;
  /** `mixed` alternates MQTT and WebSocket devices. */
  transport: FleetTransport;
  /** Milliseconds between samples of each device. */
  intervalMs: number;
  /** Prefix of generated device ids (default `sim-`). */
  idPrefix?: string;
  /** Seed of every simulated value (default 1). */
  seed?: number;
  log?: SimLogger;
  /** Device kinds, repeated to fill the fleet (default: the rooms and devices of DEFAULT_HOME). */
  kinds?: readonly string[];
  /** Tokens to reuse, by device id; devices not listed are provisioned. */
  credentials?: readonly DeviceCredentials[];
  /** Offset of the simulated home's local time from UTC, in hours (default 0). */
  utcOffsetHours?: number;
  /** Devices provisioned and connected at once (default 100). */
  concurrency?: number;
  /**
   * The devices to run, e.g. from a scenario (planScenario); replaces the
   * plan made from devices, transport, idPrefix, seed and kinds.
   */
  plan?: readonly DevicePlan[];
  /** Faults every device commits (faults.ts); each device draws its own schedule from its seed. */
  faults?: FaultOptions;
}

export interface FleetStats {
  sent: number;
  acked: number;
  failed: number;
  /** Faults committed, summed over the devices. */
  faults: FaultStats;
}

export interface Fleet {
  /** Device ids, in plan order. */
  devices: string[];
  /** Credentials of every device, to save for reuse. */
  credentials: DeviceCredentials[];
  stats(): FleetStats;
  /** Stops sampling and closes every connection (devices say offline). */
  stop(): Promise<void>;
}

export interface DevicePlan {
  id: string;
  kind: string;
  name: string;
  transport: Transport;
  seed: number;
  /** The room it is in, part of its name. */
  room?: string;
  /** ModelOptions.variant, e.g. `door` or `window` for a contact. */
  variant?: string;
  /** This device's sample interval; the fleet's intervalMs when absent. */
  intervalMs?: number;
}

const ROOMS = ['Living room', 'Kitchen', 'Bedroom', 'Office', 'Bathroom', 'Hallway', 'Kids room', 'Garage', 'Basement', 'Attic'];

/** What the fleet will be: pure, so the same options always give the same devices. */
export function planFleet(options: Pick<FleetOptions, 'devices' | 'transport' | 'idPrefix' | 'seed' | 'kinds'>): DevicePlan[] {
  // Given kinds go round the rooms; without them the fleet is the default home, repeated.
  const kinds = options.kinds && options.kinds.length > 0 ? options.kinds : undefined;
  const placeOf = (i: number): HomeDevice =>
    kinds ? { kind: kinds[i % kinds.length] as string, room: ROOMS[i % ROOMS.length] as string } : (DEFAULT_HOME[i % DEFAULT_HOME.length] as HomeDevice);
  const perRound = kinds ? ROOMS.length : DEFAULT_HOME.length;
  const prefix = options.idPrefix ?? 'sim-';
  const seed = options.seed ?? 1;
  const width = String(options.devices).length;
  return Array.from({ length: options.devices }, (_, i) => {
    const place = placeOf(i);
    const definition = modelDefinition(place.kind);
    const id = `${prefix}${definition.idStem}-${String(i + 1).padStart(width, '0')}`;
    const room = place.room;
    const round = Math.floor(i / perRound);
    const transport: Transport = options.transport === 'mixed' ? (i % 2 === 0 ? 'mqtt' : 'ws') : options.transport;
    const plan: DevicePlan = {
      id,
      kind: definition.kind,
      name: `${room}${round > 0 ? ` ${round + 1}` : ''} ${place.label ?? definition.label}`,
      transport,
      seed: hashSeed(seed, id),
      room,
    };
    if (place.variant !== undefined) plan.variant = place.variant;
    return plan;
  });
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const log = options.log ?? silentLogger;
  const concurrency = options.concurrency ?? 100;
  const plan = options.plan ?? planFleet(options);
  const credentials = await resolveCredentials(plan, options);
  const tokens = new Map(credentials.map((c) => [c.id, c.token]));

  const devices = plan.map((device, i) => {
    const connection = openConnection(device, tokens.get(device.id) as string, options);
    return new SimulatedDevice({
      model: modelDefinition(device.kind).create({ seed: device.seed, utcOffsetHours: options.utcOffsetHours, variant: device.variant }),
      connection,
      intervalMs: device.intervalMs ?? options.intervalMs,
      // Spread the fleet evenly over one interval rather than sampling in bursts.
      startDelayMs: Math.floor(((device.intervalMs ?? options.intervalMs) * i) / plan.length),
      log,
      faults: options.faults,
      faultSeed: hashSeed(device.seed, 'faults'),
    });
  });

  try {
    await mapConcurrent(devices, concurrency, (device) => device.start());
  } catch (err) {
    await Promise.allSettled(devices.map((device) => device.stop()));
    throw err;
  }
  log.info(`fleet: ${devices.length} devices connected (${summarise(plan)}), sampling every ${options.intervalMs} ms`);

  let stopped: Promise<void> | undefined;
  return {
    devices: plan.map((device) => device.id),
    credentials,
    stats: () => {
      const total: FleetStats = { sent: 0, acked: 0, failed: 0, faults: emptyFaultStats() };
      for (const device of devices) {
        total.sent += device.stats.sent;
        total.acked += device.stats.acked;
        total.failed += device.stats.failed;
        for (const [key, n] of Object.entries(device.faults?.stats ?? {}) as [keyof FaultStats, number][]) total.faults[key] += n;
      }
      return total;
    },
    stop: () => {
      stopped ??= Promise.allSettled(devices.map((device) => device.stop())).then(() => undefined);
      return stopped;
    },
  };
}

async function resolveCredentials(plan: readonly DevicePlan[], options: FleetOptions): Promise<DeviceCredentials[]> {
  const known = new Map((options.credentials ?? []).map((c) => [c.id, c]));
  const missing: ProvisionRequest[] = plan
    .filter((device) => !known.has(device.id))
    .map((device) => ({ id: device.id, kind: device.kind, name: device.name }));
  if (missing.length > 0) {
    if (!options.adminToken) {
      throw new Error(`no credentials for ${missing.length} device(s) (first: ${missing[0]?.id}) and no admin token to provision them`);
    }
    const created = await provisionDevices({
      hubUrl: options.hubUrl,
      adminToken: options.adminToken,
      devices: missing,
      concurrency: options.concurrency ?? 100,
    });
    for (const c of created) known.set(c.id, c);
  }
  return plan.map((device) => known.get(device.id) as DeviceCredentials);
}

function openConnection(device: DevicePlan, token: string, options: FleetOptions): DeviceConnection {
  return device.transport === 'mqtt'
    ? new MqttDevice({ url: options.mqttUrl, id: device.id, token })
    : new WsDevice({ url: deviceWsUrl(options.hubUrl), id: device.id, token });
}

function summarise(plan: readonly DevicePlan[]): string {
  const counts = new Map<string, number>();
  for (const device of plan) {
    const key = `${device.kind}/${device.transport}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => `${n} ${key}`).join(', ');
}
