/**
 * A simulated device's link to the hub, the same over MQTT and WebSocket:
 * connect, say hello, send telemetry and state, answer commands, close.
 * Sends resolve once the hub has acknowledged them durably (MQTT PUBACK,
 * WS `ack`) [FP-3]. The base class owns what both transports share: the
 * per-device seq counter, ack timeouts and reconnecting with backoff.
 */
import { EventEmitter } from 'node:events';
import type {
  Capabilities,
  CommandMessage,
  DesiredMessage,
  ErrorMessage,
  MetricValue,
  ResultMessage,
  StateMessage,
  StateValue,
  Transport,
} from '@iot-hub/protocol';
import { Backoff, type BackoffOptions } from './backoff.js';
import { DeviceSimError } from './errors.js';

export type DeviceConnectionEvents = {
  /** Authenticated (first connect and every reconnect): time to send hello. */
  connected: [];
  /** The link dropped; a reconnect is scheduled. */
  disconnected: [reason: string];
  /** Gave up for good (credentials refused, replaced by another connection). */
  fatal: [error: DeviceSimError];
  command: [command: CommandMessage];
  desired: [desired: DesiredMessage];
  /** An error from the hub that answered no pending message. */
  hubError: [error: ErrorMessage];
  /** Something odd from the hub that the device ignored (bad JSON ...). */
  warning: [message: string];
};

export interface TelemetryInput {
  metrics: Record<string, MetricValue>;
  /** Sample time, epoch ms; the hub uses its receive time when absent. */
  ts?: number;
  /**
   * Sequence number [FP-4.2]: give the one of an earlier send to resend it
   * (the hub drops the duplicate); absent, the next number is taken.
   */
  seq?: number;
}

export interface BatchSample {
  ts: number;
  seq: number;
  metrics: Record<string, MetricValue>;
}

export type ResultInput = Omit<ResultMessage, 'type' | 'v' | 'mid'>;

export interface DeviceConnection extends EventEmitter<DeviceConnectionEvents> {
  readonly deviceId: string;
  readonly transport: Transport;
  readonly connected: boolean;
  /** First connection; rejects (DeviceSimError) when the hub is unreachable or refuses. */
  connect(): Promise<void>;
  sendHello(capabilities: Capabilities): Promise<void>;
  /** Resolves with the sample's seq once the hub stored it durably. */
  sendTelemetry(sample: TelemetryInput): Promise<number>;
  /** Reported state [FP-4.3]; `version` is the desired version applied, `refused` the desired keys it cannot apply (sent when not empty). */
  sendState(state: Record<string, StateValue>, version?: number, refused?: Record<string, string>): Promise<void>;
  sendResult(result: ResultInput): Promise<void>;
  /**
   * Sends samples taken earlier as one batch [FP-4.2]; each carries its
   * own ts and seq. Resolves once the hub stored the batch durably.
   */
  sendBatch(samples: readonly BatchSample[]): Promise<void>;
  /** Takes the next seq number without sending, for a sample sent later (buffered, out of order). */
  nextSeq(): number;
  /** Graceful: says offline where the transport has a way to, then closes; no reconnect after. */
  close(): Promise<void>;
}

/**
 * What a connection can do on purpose to test the hub's handling of
 * faults: the firmware bugs and network trouble real devices have.
 */
export interface FaultableConnection extends DeviceConnection {
  /** Drops the link abruptly (no DISCONNECT, no close frame); reconnects with backoff. */
  drop(): void;
  /** Goes offline cleanly, stays away for `durationMs`, then reconnects. */
  goOffline(durationMs: number): Promise<void>;
  /**
   * Sends `payload` exactly as given: on MQTT published (QoS 1) on the
   * channel of `kind`, resolving on PUBACK; on the WebSocket as one text
   * frame, resolving once written (no mid, so no ack).
   */
  sendRaw(kind: OutgoingKind, payload: string): Promise<void>;
  /**
   * A slow reader: stops reading what the hub sends (acks, commands) for
   * `durationMs`, while sends still go out; the hub's data waits in the
   * socket buffers.
   */
  stall(durationMs: number): void;
}

export interface ConnectionOptions {
  id: string;
  token: string;
  /** Reject a send not acknowledged within this many ms (default 30 s). */
  ackTimeoutMs?: number;
  /** Give up a connection attempt after this many ms (default 10 s). */
  connectTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** First seq number (default 0); a restarted device starts again, as real ones do. */
  firstSeq?: number;
}

/** The message kinds a device sends; transports map them to channels or `type`. */
export type OutgoingKind = 'hello' | 'telemetry' | 'state' | 'result' | 'status';

type LinkState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export abstract class DeviceConnectionBase extends EventEmitter<DeviceConnectionEvents> implements FaultableConnection {
  abstract readonly transport: Transport;
  readonly deviceId: string;
  protected readonly token: string;
  protected readonly connectTimeoutMs: number;
  readonly #ackTimeoutMs: number;
  readonly #backoff: Backoff;
  #seq: number;
  #state: LinkState = 'idle';
  #reconnectTimer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;

  constructor(options: ConnectionOptions) {
    super();
    this.deviceId = options.id;
    this.token = options.token;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.#backoff = new Backoff(options.backoff);
    this.#seq = options.firstSeq ?? 0;
  }

  /** Opens one link and authenticates; rejects with a DeviceSimError. */
  protected abstract openLink(): Promise<void>;
  /** Closes the current link, gracefully (offline status, DISCONNECT) or not. */
  protected abstract closeLink(graceful: boolean): Promise<void>;
  /** Sends one message; resolves on the hub's durable acknowledgement. */
  protected abstract deliver(kind: OutgoingKind, body: Record<string, unknown>): Promise<void>;
  /** Sends bytes as they are (see FaultableConnection.sendRaw). */
  protected abstract deliverRaw(kind: OutgoingKind, payload: string): Promise<void>;
  /** Kills the transport under the link, so that it notices a lost connection. */
  protected abstract breakLink(): void;
  /** Stops and restarts reading from the current link (a slow reader). */
  protected abstract pauseReading(): void;
  protected abstract resumeReading(): void;

  get connected(): boolean {
    return this.#state === 'open';
  }

  async connect(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`connect() called twice on device ${this.deviceId}`);
    this.#state = 'connecting';
    try {
      await this.openLink();
    } catch (err) {
      this.#state = 'closed';
      throw err;
    }
    if (this.#state !== 'connecting') return; // closed meanwhile
    this.#state = 'open';
    this.emit('connected');
  }

  sendHello(capabilities: Capabilities): Promise<void> {
    return this.#send('hello', { ...capabilities });
  }

  async sendTelemetry(sample: TelemetryInput): Promise<number> {
    const seq = sample.seq ?? this.#seq++;
    const body: Record<string, unknown> = { metrics: sample.metrics, seq };
    if (sample.ts !== undefined) body.ts = sample.ts;
    await this.#send('telemetry', body);
    return seq;
  }

  sendBatch(samples: readonly BatchSample[]): Promise<void> {
    return this.#send('telemetry', { samples: samples.map(({ ts, seq, metrics }) => ({ ts, seq, metrics })) });
  }

  sendState(state: Record<string, StateValue>, version?: number, refused: Record<string, string> = {}): Promise<void> {
    return this.#send('state', stateBody(state, version, refused));
  }

  sendResult(result: ResultInput): Promise<void> {
    return this.#send('result', { ...result });
  }

  nextSeq(): number {
    return this.#seq++;
  }

  drop(): void {
    if (this.#state === 'open') this.breakLink();
  }

  async goOffline(durationMs: number): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'reconnecting';
    this.emit('disconnected', `offline for ${durationMs} ms on purpose`);
    await this.closeLink(true);
    if (this.#state !== 'reconnecting') return; // close() meanwhile
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(), durationMs);
  }

  stall(durationMs: number): void {
    if (this.#state !== 'open') return;
    clearTimeout(this.#stallTimer);
    this.pauseReading();
    this.#stallTimer = setTimeout(() => this.resumeReading(), durationMs);
  }

  sendRaw(kind: OutgoingKind, payload: string): Promise<void> {
    if (this.#state !== 'open') {
      return Promise.reject(new DeviceSimError('not_connected', `device ${this.deviceId} is not connected (${this.#state})`));
    }
    return withTimeout(this.deliverRaw(kind, payload), this.#ackTimeoutMs, () => {
      return new DeviceSimError('ack_timeout', `no ack for raw ${kind} from the hub within ${this.#ackTimeoutMs} ms`);
    });
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#stallTimer);
    // A paused reader would never see the close handshake finish.
    this.resumeReading();
    await this.closeLink(wasOpen);
  }

  /**
   * Called by a transport when an open link drops. Reconnects with backoff
   * unless the hub's reason makes retrying pointless.
   */
  protected linkLost(reason: DeviceSimError): void {
    if (this.#state !== 'open') return;
    if (reason.fatal) {
      this.#state = 'closed';
      this.emit('fatal', reason);
      return;
    }
    this.#state = 'reconnecting';
    this.emit('disconnected', reason.message);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(), this.#backoff.next());
  }

  async #reconnect(): Promise<void> {
    if (this.#state !== 'reconnecting') return;
    try {
      await this.openLink();
    } catch (err) {
      if (this.#state !== 'reconnecting') return;
      const error = err instanceof DeviceSimError ? err : new DeviceSimError('unreachable', String(err));
      if (error.fatal) {
        this.#state = 'closed';
        this.emit('fatal', error);
      } else {
        this.#scheduleReconnect();
      }
      return;
    }
    if (this.#state !== 'reconnecting') {
      // close() ran while the attempt was in flight.
      await this.closeLink(false);
      return;
    }
    this.#backoff.reset();
    this.#state = 'open';
    this.emit('connected');
  }

  #send(kind: OutgoingKind, body: Record<string, unknown>): Promise<void> {
    if (this.#state !== 'open') {
      return Promise.reject(new DeviceSimError('not_connected', `device ${this.deviceId} is not connected (${this.#state})`));
    }
    return withTimeout(this.deliver(kind, body), this.#ackTimeoutMs, () => {
      return new DeviceSimError('ack_timeout', `no ack for ${kind} from the hub within ${this.#ackTimeoutMs} ms`);
    });
  }
}

/** Rejects with `onTimeout()` when `promise` has not settled after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** A `state` message body [FP-4.3]: `version` and `refused` only when there is something to say. */
export function stateBody(state: Record<string, StateValue>, version: number | undefined, refused: Record<string, string>): Pick<StateMessage, 'state' | 'version' | 'refused'> {
  return { state, ...(version === undefined ? {} : { version }), ...(Object.keys(refused).length === 0 ? {} : { refused }) };
}
