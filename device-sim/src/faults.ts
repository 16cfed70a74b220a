/**
 * Faults a simulated device can commit on purpose, to test how the hub
 * copes: the network trouble and firmware bugs of real devices. Each one
 * either runs on a schedule or a rate (FaultOptions), or on demand.
 *
 * | fault            | what the hub should do                                          |
 * | ---------------- | --------------------------------------------------------------- |
 * | disconnect       | presence offline (connection-lost / last-will), online again    |
 * | network flap     | the same, several times in a row; the device ends up online      |
 * | offline period   | offline (disconnected) for the period; commands wait for it     |
 * | clock skew       | store with the device's ts; beyond ±5 min `bad_timestamp` [FP-4.2] |
 * | duplicate        | ack again, store once, count `stats.duplicates` [FP-4.2]        |
 * | out of order     | store both; seq arrive late                                     |
 * | malformed        | the named error (`bad_json`, `invalid_message` ...) [FP-8]      |
 * | oversize         | MQTT: close the connection; WebSocket: close 1009 [FP-3]        |
 * | slow reader      | keep serving every other device; deliver once it reads again    |
 */
import { MAX_PAYLOAD_BYTES, type MetricValue } from '@iot-hub/protocol';
import type { Random } from './random.js';
import type { FaultableConnection } from './transports/connection.js';

export interface FaultOptions {
  /** Mean time between abrupt link drops (exponentially distributed); the device reconnects with backoff. */
  disconnectEveryMs?: number;
  /** Mean time between offline periods (clean disconnect, away, reconnect). */
  offlineEveryMs?: number;
  /** Length of each offline period (default 30 s). */
  offlineForMs?: number;
  /** Added to every telemetry `ts`: a device clock ahead (+) or behind (−). */
  clockSkewMs?: number;
  /** Share of samples resent with the same seq once acknowledged (0..1). */
  duplicateRate?: number;
  /** Share of samples held back and sent after the next one (0..1). */
  reorderRate?: number;
  /** Chance per sample of also sending a malformed message (0..1). */
  malformedRate?: number;
  /** Chance per sample of also sending a message over the size limit (0..1). */
  oversizeRate?: number;
  /** Mean time between network flaps: bursts of drops, each as soon as the device is back. */
  flapEveryMs?: number;
  /** Drops in each flap (default 3). */
  flapCount?: number;
  /** Mean time between slow-reader spells (the device stops reading for a while). */
  stallEveryMs?: number;
  /** Length of each slow-reader spell (default 10 s). */
  stallForMs?: number;
}

/** The malformed messages on offer, named by the error the hub answers with [FP-8]. */
export const MALFORMED_KINDS = ['bad_json', 'invalid_message', 'unsupported_version', 'unknown_type'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** Valid on both transports up to the fault itself (`type` matches the MQTT channel). */
const MALFORMED: Record<MalformedKind, string> = {
  bad_json: '{"type":"telemetry","metrics":{"temperature":21.5',
  invalid_message: '{"type":"telemetry","metrics":{"temperature":"21.5"}}',
  unsupported_version: '{"v":2,"type":"telemetry","metrics":{"temperature":21.5}}',
  unknown_type: '{"type":"telemetri","metrics":{"temperature":21.5}}',
};

export interface FaultStats {
  drops: number;
  offlinePeriods: number;
  duplicates: number;
  reordered: number;
  malformed: number;
  oversize: number;
  stalls: number;
  flaps: number;
}

export function emptyFaultStats(): FaultStats {
  return { drops: 0, offlinePeriods: 0, duplicates: 0, reordered: 0, malformed: 0, oversize: 0, stalls: 0, flaps: 0 };
}

export interface TelemetrySend {
  metrics: Record<string, MetricValue>;
  ts?: number;
  /** The sample's seq; taken from the connection when absent. */
  seq?: number;
}

interface Held {
  sample: TelemetrySend & { seq: number };
  resolve: () => void;
  reject: (err: Error) => void;
}

export class FaultInjector {
  readonly stats: FaultStats = emptyFaultStats();
  readonly #connection: FaultableConnection;
  readonly #options: FaultOptions;
  readonly #random: Random;
  #disconnectTimer: NodeJS.Timeout | undefined;
  #offlineTimer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  #flapTimer: NodeJS.Timeout | undefined;
  /** Wakes flaps waiting for a reconnect when the injector stops. */
  readonly #wakers = new Set<() => void>();
  #stopped = false;
  #held: Held | undefined;
  #running = false;

  constructor(connection: FaultableConnection, options: FaultOptions, random: Random) {
    this.#connection = connection;
    this.#options = options;
    this.#random = random;
  }

  /** Starts the scheduled faults (disconnects, offline periods). */
  start(): void {
    this.#running = true;
    if (this.#options.disconnectEveryMs) this.#scheduleDisconnect();
    if (this.#options.offlineEveryMs) this.#scheduleOffline();
    if (this.#options.stallEveryMs) this.#scheduleStall();
    if (this.#options.flapEveryMs) this.#scheduleFlap();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#disconnectTimer);
    clearTimeout(this.#offlineTimer);
    clearTimeout(this.#stallTimer);
    clearTimeout(this.#flapTimer);
    this.#stopped = true;
    for (const wake of this.#wakers) wake();
    const held = this.#held;
    this.#held = undefined;
    held?.reject(new Error('device stopped with a sample held back'));
  }

  /** The device's idea of now: the real clock plus the skew. */
  timestamp(nowMs: number): number {
    return nowMs + (this.#options.clockSkewMs ?? 0);
  }

  /**
   * Sends one sample with the rate-driven faults: held back to go after
   * the next one, and/or resent as a duplicate once acknowledged.
   * Resolves when the sample itself is acknowledged (a held sample: once
   * the next sample has been sent and it was acknowledged after that).
   */
  sendTelemetry(sample: TelemetrySend): Promise<void> {
    const withSeq = { ...sample, seq: sample.seq ?? this.#connection.nextSeq() };
    const held = this.#held;
    if (held) {
      this.#held = undefined;
      const first = this.#deliver(withSeq);
      // The held sample goes after this one: its seq arrives late.
      this.#deliver(held.sample).then(held.resolve, held.reject);
      return first;
    }
    // Not seq 0: arriving late it would tell the hub the device rebooted [FP-4.2].
    if (withSeq.seq > 0 && this.#chance(this.#options.reorderRate)) {
      this.stats.reordered++;
      return new Promise<void>((resolve, reject) => {
        this.#held = { sample: withSeq, resolve, reject };
      });
    }
    return this.#deliver(withSeq);
  }

  /** Rate-driven malformed and oversize messages, once per sample. */
  afterSample(): void {
    if (this.#chance(this.#options.malformedRate)) void this.malformed(this.#random.pick(MALFORMED_KINDS)).catch(() => undefined);
    if (this.#chance(this.#options.oversizeRate)) void this.oversize().catch(() => undefined);
  }

  /** Sends a message the hub must reject with the error named `kind`. */
  malformed(kind: MalformedKind = 'bad_json'): Promise<void> {
    this.stats.malformed++;
    return this.#connection.sendRaw('telemetry', MALFORMED[kind]);
  }

  /**
   * Sends a telemetry message of `bytes` bytes (default: the protocol
   * limit plus 4 KiB, past the room MQTT allows for headers) [FP-2.1].
   */
  oversize(bytes = MAX_PAYLOAD_BYTES + 4096): Promise<void> {
    this.stats.oversize++;
    const head = '{"type":"telemetry","metrics":{"temperature":21.5},"pad":"';
    const tail = '"}';
    return this.#connection.sendRaw('telemetry', head + 'x'.repeat(Math.max(0, bytes - head.length - tail.length)) + tail);
  }

  /** Drops the link now; the device reconnects with backoff. */
  disconnect(): void {
    if (!this.#connection.connected) return;
    this.stats.drops++;
    this.#connection.drop();
  }

  /**
   * A network flap: `times` drops, each as soon as the device is back.
   * Resolves after the last drop (or when the injector stops).
   */
  async flap(times = this.#options.flapCount ?? 3): Promise<void> {
    this.stats.flaps++;
    for (let i = 0; i < times && !this.#stopped; i++) {
      if (!this.#connection.connected) await this.#next('connected');
      if (this.#stopped) return;
      // The link notices the drop asynchronously: wait for it, or the next drop would hit the dying link.
      const lost = this.#next('disconnected');
      this.disconnect();
      await lost;
    }
  }

  /** Stops reading from the hub for `durationMs`: a slow reader. */
  slowReader(durationMs = this.#options.stallForMs ?? 10_000): void {
    if (!this.#connection.connected) return;
    this.stats.stalls++;
    this.#connection.stall(durationMs);
  }

  /** Goes offline cleanly for `durationMs`, then reconnects. */
  async offline(durationMs = this.#options.offlineForMs ?? 30_000): Promise<void> {
    if (!this.#connection.connected) return;
    this.stats.offlinePeriods++;
    await this.#connection.goOffline(durationMs);
  }

  async #deliver(sample: TelemetrySend & { seq: number }): Promise<void> {
    // seq 0 tells the hub the device rebooted and resets its duplicate window, so a
    // resent seq 0 is stored twice [FP-4.2]: a duplicate is only a duplicate after it.
    // Drawn before sending, so the random stream does not depend on ack timing.
    const duplicate = sample.seq > 0 && this.#chance(this.#options.duplicateRate);
    await this.#connection.sendTelemetry(sample);
    if (duplicate) {
      this.stats.duplicates++;
      await this.#connection.sendTelemetry(sample).catch(() => undefined);
    }
  }

  #chance(rate: number | undefined): boolean {
    return rate !== undefined && rate > 0 && this.#random.chance(rate);
  }

  #scheduleDisconnect(): void {
    this.#disconnectTimer = setTimeout(() => {
      if (!this.#running) return;
      this.disconnect();
      this.#scheduleDisconnect();
    }, this.#exponential(this.#options.disconnectEveryMs as number));
  }

  #scheduleOffline(): void {
    this.#offlineTimer = setTimeout(() => {
      if (!this.#running) return;
      const away = this.#options.offlineForMs ?? 30_000;
      void this.offline(away);
      // The next period is counted from the end of this one.
      this.#offlineTimer = setTimeout(() => {
        if (this.#running) this.#scheduleOffline();
      }, away);
    }, this.#exponential(this.#options.offlineEveryMs as number));
  }

  /** The next `event` of the connection, or stop(), whichever comes first. */
  #next(event: 'connected' | 'disconnected'): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.#connection.off(event, done);
        this.#connection.off('fatal', done);
        this.#wakers.delete(done);
        resolve();
      };
      this.#connection.on(event, done);
      // A device that gave up (credentials refused) will not come back.
      this.#connection.on('fatal', done);
      this.#wakers.add(done);
    });
  }

  #scheduleFlap(): void {
    this.#flapTimer = setTimeout(() => {
      if (!this.#running) return;
      void this.flap().then(() => {
        if (this.#running) this.#scheduleFlap();
      });
    }, this.#exponential(this.#options.flapEveryMs as number));
  }

  #scheduleStall(): void {
    this.#stallTimer = setTimeout(() => {
      if (!this.#running) return;
      const away = this.#options.stallForMs ?? 10_000;
      this.slowReader(away);
      this.#stallTimer = setTimeout(() => {
        if (this.#running) this.#scheduleStall();
      }, away);
    }, this.#exponential(this.#options.stallEveryMs as number));
  }

  /** Exponentially distributed delay with this mean (a Poisson process of faults). */
  #exponential(meanMs: number): number {
    return Math.max(1, Math.round(-Math.log(1 - this.#random.next()) * meanMs));
  }
}
