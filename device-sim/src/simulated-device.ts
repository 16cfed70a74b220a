/**
 * One simulated device: a model driven by a timer, speaking through a
 * connection. On every (re)connect it says hello and reports its state
 * [FP-4.1, FP-4.3]; it samples every interval; it executes commands and
 * applies desired state where its model can. Like firmware, it keeps the
 * readings the link lost or could not take (with their seq and ts) and
 * sends them as batches once it is back [FP-4.2].
 */
import { DEFAULT_HEARTBEAT_SEC, MAX_HEARTBEAT_SEC, MAX_SAMPLES_PER_BATCH, MIN_HEARTBEAT_SEC, type CommandMessage, type DesiredMessage } from '@iot-hub/protocol';
import type { SimLogger } from './log.js';
import type { DeviceModel } from './models/model.js';
import { FaultInjector, type FaultOptions } from './faults.js';
import { nextBoot } from './boot-counter.js';
import { Random } from './random.js';
import type { BatchSample, DeviceConnection, FaultableConnection, ResultInput } from './transports/connection.js';
import { DeviceSimError } from './transports/errors.js';

/** Samples kept while the link is down: at a 5 s interval, about seven hours. */
const MAX_BACKLOG = 5000;

/** Command ids remembered to answer redeliveries; FP-4.4 asks for at least 32. */
const REMEMBERED_COMMANDS = 64;

export interface DeviceStats {
  /** Telemetry messages attempted. */
  sent: number;
  /** Acknowledged by the hub (stored durably). */
  acked: number;
  /**
   * Refused by the hub (4xx), dropped from a full backlog, or still unsent
   * at stop(). Samples the link lost are kept and resent, so after stop()
   * sent = acked + failed.
   */
  failed: number;
}

export interface SimulatedDeviceOptions {
  model: DeviceModel;
  /** With `faults`, a connection that can commit them (MqttDevice and WsDevice can). */
  connection: DeviceConnection | FaultableConnection;
  intervalMs: number;
  /** Delay of the first sample, to spread a fleet over the interval. */
  startDelayMs?: number;
  log: SimLogger;
  /** Clock; Date.now by default. */
  now?: () => number;
  /** Faults to commit on a schedule or rate; `device.faults` also commits them on demand. */
  faults?: FaultOptions;
  /** Seed of the fault schedule (default 1). */
  faultSeed?: number;
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
  /** This start of the device, named in every hello; its seq numbers are unique within it [FP-4.2]. */
  #boot = 0;
  readonly #backlog: BatchSample[] = [];
  #flushing = false;
  /**
   * The desired version last applied, reported with the state after every
   * hello: a `desired` that arrives before the link counts as open (on the
   * WebSocket, right after `welcome`) is applied, but its own report cannot
   * go out, and the hub must still learn the version [FP-4.3].
   */
  #appliedVersion: number | undefined;
  /** Final results of recent commands by id ('running' while executing), oldest first [FP-4.4]. */
  readonly #results = new Map<string, ResultInput | 'running'>();

  /** Present when the connection can commit faults: scheduled ones and `faults.malformed()` etc. on demand. */
  readonly faults: FaultInjector | undefined;

  constructor(options: SimulatedDeviceOptions) {
    this.#model = options.model;
    if (isFaultable(options.connection)) {
      this.faults = new FaultInjector(options.connection, options.faults ?? {}, new Random(options.faultSeed ?? 1));
    } else if (options.faults) {
      throw new TypeError(`device ${options.connection.deviceId}: faults need a connection that can commit them (MqttDevice, WsDevice)`);
    }
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
    this.#boot = nextBoot(this.id, this.#now());
    await connection.connect();
    this.faults?.start();
    this.#timer = setTimeout(() => {
      this.#tick();
      this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    }, this.#startDelayMs);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.faults?.stop();
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    await this.#connection.close();
    // Whatever is still kept will not be sent now.
    this.stats.failed += this.#backlog.length;
    this.#backlog.length = 0;
  }

  #announce(): void {
    // Every hello names this start of the device; a reconnect is not a reboot [FP-4.2].
    const hello = { ...this.#model.hello(), boot: this.#boot };
    // The hub marks a device offline after 2.5 silent heartbeats [FP-6]: declare at least the sample interval.
    const heartbeatSec = Math.min(
      MAX_HEARTBEAT_SEC,
      Math.max(MIN_HEARTBEAT_SEC, hello.heartbeatSec ?? DEFAULT_HEARTBEAT_SEC, Math.ceil(this.#intervalMs / 1000)),
    );
    this.#connection
      .sendHello({ ...hello, heartbeatSec })
      .then(() => this.#connection.sendState(this.#model.state(), this.#appliedVersion))
      .then(() => this.#flush())
      .catch((err: Error) => this.#log.warn(`${this.id}: hello/state not acknowledged: ${err.message}`));
  }

  #tick(): void {
    if (!this.#running) return;
    const now = this.#now();
    const before = JSON.stringify(this.#model.state());
    const metrics = this.#model.sample(now);
    // Time moved the model (a door opened, heating switched): say so as it happens.
    if (this.#connection.connected) void this.#reportIfChanged(before);
    this.stats.sent++;
    const faults = this.faults;
    // The seq is the sample's for good: a resend after a lost ack reuses it, so the hub stores it once [FP-4.2].
    const sample: BatchSample = { metrics, ts: faults ? faults.timestamp(now) : now, seq: this.#connection.nextSeq() };
    if (!this.#connection.connected) {
      this.#keep([sample]);
      return;
    }
    // Kept readings normally go right after hello; if that failed, they go with the next reading.
    if (this.#backlog.length > 0) void this.#flush();
    const sent = faults ? faults.sendTelemetry(sample) : this.#connection.sendTelemetry(sample);
    faults?.afterSample();
    sent.then(
      () => this.stats.acked++,
      (err: Error) => this.#undelivered([sample], err),
    );
  }

  /** Samples the hub did not take: kept to resend if that can help, else counted failed. */
  #undelivered(samples: BatchSample[], err: Error, front = false): void {
    if (this.#running && retryable(err)) {
      this.#keep(samples, front);
      return;
    }
    this.stats.failed += samples.length;
    if (this.#running) this.#log.warn(`${this.id}: ${samples.length} sample(s) failed: ${err.message}`);
  }

  /** Store and forward, as firmware does while offline; the oldest go first when full. */
  #keep(samples: BatchSample[], front = false): void {
    if (front) this.#backlog.unshift(...samples);
    else this.#backlog.push(...samples);
    const over = this.#backlog.length - MAX_BACKLOG;
    if (over > 0) {
      this.#backlog.splice(0, over);
      this.stats.failed += over;
    }
  }

  /** Sends what was kept while offline, in batches, once connected again. */
  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#running && this.#connection.connected && this.#backlog.length > 0) {
        const batch = this.#backlog.splice(0, MAX_SAMPLES_PER_BATCH);
        try {
          await this.#connection.sendBatch(batch);
          this.stats.acked += batch.length;
        } catch (err) {
          this.#undelivered(batch, err as Error, true);
          if (retryable(err as Error)) break;
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Samples waiting for the link to come back. */
  get queued(): number {
    return this.#backlog.length;
  }

  async #onCommand(command: CommandMessage): Promise<void> {
    const previous = this.#results.get(command.id);
    if (previous !== undefined) {
      // A redelivered command is not executed again; it gets the same final result [FP-4.4].
      // While the first delivery is still running there is nothing to repeat yet.
      if (previous !== 'running') await this.#sendResult(previous);
      return;
    }
    this.#remember(command.id, 'running');
    const now = this.#now();
    this.#log.info(`${this.id}: command ${command.name} (${command.id})`);
    let final: ResultInput;
    if (command.expiresAt !== undefined && now >= command.expiresAt) {
      // Do not start a command at or after its expiry [FP-4.4].
      final = { id: command.id, status: 'failed', error: 'expired before it could start' };
    } else if (!this.#model.command) {
      final = { id: command.id, status: 'failed', error: `a ${this.#model.kind} takes no commands` };
    } else {
      await this.#sendResult({ id: command.id, status: 'acknowledged' });
      const before = JSON.stringify(this.#model.state());
      const outcome = this.#model.command(command.name, command.params ?? {}, now);
      final =
        outcome.status === 'succeeded'
          ? { id: command.id, status: 'succeeded', ...(outcome.result === undefined ? {} : { result: outcome.result }) }
          : { id: command.id, status: 'failed', error: outcome.error };
      this.#remember(command.id, final);
      await this.#sendResult(final);
      await this.#reportIfChanged(before);
      return;
    }
    this.#remember(command.id, final);
    await this.#sendResult(final);
  }

  #remember(id: string, result: ResultInput | 'running'): void {
    this.#results.delete(id);
    this.#results.set(id, result);
    // A Map iterates in insertion order: the first key is the oldest.
    while (this.#results.size > REMEMBERED_COMMANDS) this.#results.delete(this.#results.keys().next().value as string);
  }

  async #sendResult(result: ResultInput): Promise<void> {
    try {
      await this.#connection.sendResult(result);
    } catch (err) {
      this.#log.warn(`${this.id}: ${result.status} result of command ${result.id} not acknowledged: ${(err as Error).message}`);
    }
  }

  /** Reports state when it differs from `before` (a JSON snapshot) [FP-4.3]. */
  async #reportIfChanged(before: string): Promise<void> {
    const state = this.#model.state();
    if (JSON.stringify(state) === before) return;
    try {
      await this.#connection.sendState(state);
    } catch (err) {
      this.#log.warn(`${this.id}: state not acknowledged: ${(err as Error).message}`);
    }
  }

  async #onDesired(desired: DesiredMessage): Promise<void> {
    const refused = this.#model.applyDesired?.(desired.state, this.#now()) ?? {};
    this.#appliedVersion = desired.version;
    try {
      // Report what we now are, with the version applied and what we cannot apply [FP-4.3].
      await this.#connection.sendState(this.#model.state(), desired.version, refused);
    } catch (err) {
      this.#log.warn(`${this.id}: state after desired v${desired.version} not acknowledged: ${(err as Error).message}`);
    }
  }
}

function isFaultable(connection: DeviceConnection): connection is FaultableConnection {
  const c = connection as Partial<FaultableConnection>;
  return typeof c.drop === 'function' && typeof c.goOffline === 'function' && typeof c.sendRaw === 'function';
}

/** Link trouble and 5xx: the same sample may go again (the hub drops a repeat by seq) [FP-8]. */
function retryable(err: Error): boolean {
  if (!(err instanceof DeviceSimError)) return false;
  if (err.code === 'hub_error') return (err.hubError?.code ?? 0) >= 500;
  return err.code === 'connection_lost' || err.code === 'not_connected' || err.code === 'ack_timeout';
}
