/**
 * One simulated device: a model driven by a timer, speaking through a
 * connection. On every (re)connect it says hello and reports its state
 * [FP-4.1, FP-4.3]; it samples every interval; it executes commands and
 * applies desired state where its model can.
 */
import { DEFAULT_HEARTBEAT_SEC, MAX_HEARTBEAT_SEC, MIN_HEARTBEAT_SEC, type CommandMessage, type DesiredMessage } from '@iot-hub/protocol';
import type { SimLogger } from './log.js';
import type { DeviceModel } from './models/model.js';
import type { DeviceConnection } from './transports/connection.js';

export interface DeviceStats {
  /** Telemetry messages attempted. */
  sent: number;
  /** Acknowledged by the hub (stored durably). */
  acked: number;
  /** Refused, lost with the connection, timed out, or not sent because the link was down. */
  failed: number;
}

export interface SimulatedDeviceOptions {
  model: DeviceModel;
  connection: DeviceConnection;
  intervalMs: number;
  /** Delay of the first sample, to spread a fleet over the interval. */
  startDelayMs?: number;
  log: SimLogger;
  /** Clock; Date.now by default. */
  now?: () => number;
}

export class SimulatedDevice {
  readonly id: string;
  readonly stats: DeviceStats = { sent: 0, acked: 0, failed: 0 };
  readonly #model: DeviceModel;
  readonly #connection: DeviceConnection;
  readonly #intervalMs: number;
  readonly #startDelayMs: number;
  readonly #log: SimLogger;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: SimulatedDeviceOptions) {
    this.#model = options.model;
    this.#connection = options.connection;
    this.id = options.connection.deviceId;
    this.#intervalMs = options.intervalMs;
    this.#startDelayMs = options.startDelayMs ?? 0;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /** Connects, announces itself and starts sampling. */
  async start(): Promise<void> {
    const connection = this.#connection;
    connection.on('connected', () => this.#announce());
    connection.on('disconnected', (reason) => this.#log.warn(`${this.id}: disconnected (${reason}); reconnecting`));
    connection.on('fatal', (err) => this.#log.error(`${this.id}: gave up: ${err.message}`));
    connection.on('command', (command) => void this.#onCommand(command));
    connection.on('desired', (desired) => void this.#onDesired(desired));
    connection.on('hubError', (error) => this.#log.warn(`${this.id}: hub error ${error.error}: ${error.message}`));
    connection.on('warning', (message) => this.#log.warn(`${this.id}: ${message}`));
    this.#running = true;
    await connection.connect();
    this.#timer = setTimeout(() => {
      this.#tick();
      this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    }, this.#startDelayMs);
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    await this.#connection.close();
  }

  #announce(): void {
    const hello = this.#model.hello();
    // The hub marks a device offline after 2.5 silent heartbeats [FP-6]: declare at least the sample interval.
    const heartbeatSec = Math.min(
      MAX_HEARTBEAT_SEC,
      Math.max(MIN_HEARTBEAT_SEC, hello.heartbeatSec ?? DEFAULT_HEARTBEAT_SEC, Math.ceil(this.#intervalMs / 1000)),
    );
    this.#connection
      .sendHello({ ...hello, heartbeatSec })
      .then(() => this.#connection.sendState(this.#model.state()))
      .catch((err: Error) => this.#log.warn(`${this.id}: hello/state not acknowledged: ${err.message}`));
  }

  #tick(): void {
    if (!this.#running) return;
    const now = this.#now();
    const metrics = this.#model.sample(now);
    this.stats.sent++;
    this.#connection.sendTelemetry({ metrics, ts: now }).then(
      () => this.stats.acked++,
      (err: Error) => {
        this.stats.failed++;
        if (this.#connection.connected) this.#log.warn(`${this.id}: telemetry failed: ${err.message}`);
      },
    );
  }

  async #onCommand(command: CommandMessage): Promise<void> {
    const now = this.#now();
    this.#log.info(`${this.id}: command ${command.name} (${command.id})`);
    try {
      if (command.expiresAt !== undefined && command.expiresAt < now) {
        await this.#connection.sendResult({ id: command.id, status: 'failed', error: 'expired before it arrived' });
        return;
      }
      if (!this.#model.command) {
        await this.#connection.sendResult({ id: command.id, status: 'failed', error: `a ${this.#model.kind} takes no commands` });
        return;
      }
      await this.#connection.sendResult({ id: command.id, status: 'acknowledged' });
      const before = JSON.stringify(this.#model.state());
      const outcome = this.#model.command(command.name, command.params ?? {}, now);
      await this.#connection.sendResult(
        outcome.status === 'succeeded'
          ? { id: command.id, status: 'succeeded', result: outcome.result }
          : { id: command.id, status: 'failed', error: outcome.error },
      );
      const state = this.#model.state();
      if (JSON.stringify(state) !== before) await this.#connection.sendState(state);
    } catch (err) {
      this.#log.warn(`${this.id}: result of command ${command.id} not acknowledged: ${(err as Error).message}`);
    }
  }

  async #onDesired(desired: DesiredMessage): Promise<void> {
    this.#model.applyDesired?.(desired.state, this.#now());
    try {
      // Report what we now are, with the version applied [FP-4.3].
      await this.#connection.sendState(this.#model.state(), desired.version);
    } catch (err) {
      this.#log.warn(`${this.id}: state after desired v${desired.version} not acknowledged: ${(err as Error).message}`);
    }
  }
}
