/**
 * One connected device, whatever its transport: turns its messages into
 * registry updates and telemetry, checks seq for duplicates and gaps per boot, counts
 * its protocol errors and disconnects it past the limit [FP-8].
 */
import {
  MAX_ERRORS_BEFORE_DISCONNECT,
  ProtocolError,
  type DeviceMessage,
  type ErrorCode,
  type ErrorMessage,
  type HelloMessage,
  type MetricValue,
  type PresenceReason,
  type TelemetryMessage,
  type TelemetrySample,
  type Transport,
} from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { DeviceRateLimiter } from '../limits/device-rate-limiter.js';
import type { DeviceEntry, Registry } from '../registry/registry.js';
import type { TelemetryPipeline } from '../telemetry/pipeline.js';
import type { TelemetryPoint } from '../telemetry/telemetry-store.js';
import type { CloseReason, DeviceLink } from './device-link.js';
import type { CommandInbox, ControlChannel, StateInbox } from './device-inbox.js';
import type { EventBus } from '../events/event-bus.js';
import type { SessionClaims } from './session-claims.js';
import { emitMessage } from './message-tap.js';
import { SeqCheck } from '../telemetry/seq-windows.js';
import { checkTimes, findTsConflict, sampleTime } from '../telemetry/sample-times.js';
import { clip } from '../log-safe.js';

/** Longest `topic` echoed in an error [FP-8]; a device's own topics are far shorter. */
const TOPIC_ECHO_CHARS = 256;
/** A device over its rate hears `rate_limited` at most this often, however much is dropped. */
const RATE_ERROR_INTERVAL_MS = 1000;
/** Dashboards hear of a device's new errors or seq gaps at most this often. */
const STATS_PUSH_INTERVAL_MS = 5000;

export type MessageCounts = Record<'in' | 'out', Record<Transport, number>>;

export interface SessionDeps {
  registry: Registry;
  pipeline: TelemetryPipeline;
  events: EventBus;
  commands: CommandInbox;
  state: StateInbox;
  log: Logger;
  /** Counts every protocol error by code, for /metrics. */
  countError?: (code: ErrorCode) => void;
  /** Device → hub and hub → device messages by transport, for /metrics; plain increments. */
  messageCounts?: MessageCounts;
  /** The per-device message rate; absent = no limit. */
  rateLimiter?: DeviceRateLimiter;
  /**
   * A store that keeps raw readings for less than MAX_TS_PAST_MS: the oldest
   * `ts` it takes, and why, for the bad_timestamp it gets [FP-4.2]. Absent,
   * the protocol's window holds.
   */
  maxAge?: { maxPastMs: number; detail: string };
  /** Cluster mode: the claim store; the device is offline only if this session's claim was still the newest. */
  claims?: SessionClaims;
  /** Cluster mode: reads the registry's changes from the shared store now (see DeviceGateway.authenticateAfterRefresh). */
  refreshRegistry?: () => Promise<void>;
}

export class DeviceSession {
  readonly deviceId: string;
  private strikes = 0;
  private ended = false;
  /** Set when the device announced `offline` (its last will) before the connection ended. */
  private announcedOffline = false;
  /** Set by the gateway when a newer connection of the same device took over. */
  replaced = false;
  /** Cluster mode: the epoch of this session's claim (0 on one hub). */
  epoch = 0;
  /** Hub → device channels this connection receives (see markReady). */
  private readonly ready = new Set<ControlChannel>();
  /** What is still being sent for channels that became ready (a store that reads asynchronously). */
  private readySending: Promise<void> | null = null;
  /** The token hash this connection authenticated with: a rotation or revocation ends its rights. */
  private readonly tokenHash: string;
  /** Messages waiting for their turn under the rate limit (see admit). */
  private readonly waiting = new Set<NodeJS.Timeout>();
  private lastRateError = -Infinity;
  private lastStatsPush = -Infinity;

  constructor(
    readonly entry: DeviceEntry,
    readonly link: DeviceLink,
    private readonly deps: SessionDeps,
    private readonly onEnd: (session: DeviceSession) => void,
  ) {
    this.deviceId = entry.record.id;
    this.tokenHash = entry.record.tokenHash;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * The rate limit, asked by the transport for each message before it is
   * read further [FP-8 `rate_limited`]. `canWait` (the message will be
   * acknowledged): `run` is called once the device's bucket has a token for
   * it, now or later, and meanwhile the transport reads nothing more from
   * the socket (push-back: nothing is lost, the device just slows down).
   * Otherwise a message over the rate is dropped (returns false) and the
   * device hears `rate_limited` at most once a second.
   */
  admit(canWait: boolean, run: () => void, context: { topic?: string } = {}, now = Date.now()): boolean {
    const limiter = this.deps.rateLimiter;
    if (!limiter) {
      run();
      return true;
    }
    const admission = limiter.admit(this.deviceId, canWait, now);
    if (admission === 'drop') {
      if (now - this.lastRateError >= RATE_ERROR_INTERVAL_MS) {
        this.lastRateError = now;
        this.fail(new ProtocolError('rate_limited', 'over the hub\'s message rate for a device: messages sent without acknowledgement are dropped; slow down'), context);
      }
      return false;
    }
    if (admission.wait === 0 || this.ended) run();
    else {
      const timer = setTimeout(() => {
        this.waiting.delete(timer);
        run();
      }, admission.wait);
      this.waiting.add(timer);
    }
    return true;
  }

  /**
   * Applies one decoded message. Resolves when its effects are durable, so
   * the transport may acknowledge it; rejects with a ProtocolError.
   */
  handle(msg: DeviceMessage, now = Date.now()): Promise<void> {
    const { registry, messageCounts } = this.deps;
    if (messageCounts) messageCounts.in[this.link.transport] += 1;
    if (registry.get(this.deviceId) !== this.entry) {
      return Promise.reject(new ProtocolError('unauthorized', 'this device was deleted'));
    }
    const { record } = this.entry;
    if (record.tokenRevokedAt !== null || record.tokenHash !== this.tokenHash) {
      return Promise.reject(new ProtocolError('unauthorized', `the device token was ${record.tokenRevokedAt !== null ? 'revoked' : 'rotated'}`));
    }
    this.entry.stats.messages += 1;
    registry.touch(this.entry, now);
    emitMessage(this.deps.events, this.deviceId, 'in', msg, now);
    switch (msg.type) {
      case 'telemetry':
        return this.telemetry(msg, now);
      case 'hello':
        return this.hello(msg, now);
      case 'status':
        // Presence follows the connection; on MQTT an `offline` status is the
        // device's last will and names the reason when the connection then ends.
        // A WebSocket has no will: its presence follows the socket alone [FP-6].
        if (msg.status === 'offline' && this.link.transport === 'mqtt') this.announcedOffline = true;
        return Promise.resolve();
      case 'state':
        return this.deps.state.reported(this.deviceId, msg, now);
      case 'result':
        return this.deps.commands.result(this.deviceId, msg, now);
      case 'ping':
        return Promise.resolve();
      case 'auth':
        return Promise.reject(new ProtocolError('invalid_message', 'already authenticated'));
    }
  }

  /**
   * The boot first: even a hello refused for its metrics names the boot its
   * telemetry comes from [FP-4.2]. Both take effect in memory at once (the
   * device's next message may already be read); the hello is answered once
   * both are durable, a failed boot save first, as it is the hub's fault.
   */
  private async hello(msg: HelloMessage, now: number): Promise<void> {
    const { registry } = this.deps;
    const [boot, capabilities] = await Promise.allSettled([registry.setBoot(this.entry, msg.boot, now), registry.setCapabilities(this.entry, msg)]);
    if (boot.status === 'rejected') throw boot.reason;
    if (capabilities.status === 'rejected') throw capabilities.reason;
  }

  private telemetry(msg: TelemetryMessage, now: number): Promise<void> {
    const samples: TelemetrySample[] = msg.samples ?? [{ ts: msg.ts, age: msg.age, seq: msg.seq, metrics: msg.metrics ?? {} }];
    const refusal = checkTimes(samples, now, this.deps.maxAge) ?? findTsConflict(samples, now, this.entry.latest);
    if (refusal) return Promise.reject(refusal);
    try {
      this.deps.registry.admitMetrics(this.entry, samples);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const points: TelemetryPoint[] = [];
    const accepted: { ts: number; metrics: Record<string, MetricValue> }[] = [];
    const seqs: number[] = [];
    /** Writes still in flight that this message's duplicates depend on. */
    let waitFor: Promise<void>[] | null = null;
    // One window for the whole message: its samples were all taken in one boot [FP-4.2].
    const window = this.entry.boots.window(msg.boot, now);
    let statsChanged = false;
    for (const s of samples) {
      if (s.seq !== undefined) {
        const check = window.accept(s.seq, this.entry.stats);
        if (check === SeqCheck.Duplicate) {
          this.entry.stats.duplicates += 1;
          // Acknowledge a duplicate only once its original is durable.
          const original = window.pending.get(s.seq);
          if (original) (waitFor ??= []).push(original);
          continue;
        }
        if (check === SeqCheck.NewStatsChanged) statsChanged = true;
        seqs.push(s.seq);
      }
      const ts = sampleTime(s, now) ?? this.stamp(now);
      for (const metric in s.metrics) {
        const value = s.metrics[metric] as MetricValue;
        points.push({ deviceId: this.deviceId, metric, ts, value: typeof value === 'boolean' ? (value ? 1 : 0) : value });
      }
      accepted.push({ ts, metrics: s.metrics });
    }
    if (statsChanged) this.statsChanged();
    if (points.length === 0) return waitFor ? Promise.all(waitFor).then(() => undefined) : Promise.resolve();
    // Live values go out as the reading arrives, beside the write (docs/design.md: the
    // pipeline and the fan-out are parallel branches), not after its commit:
    // a dashboard then sees it within the turn instead of one store round
    // trip later. If the write fails, the device is not acknowledged and sends
    // it again, so a dashboard may see that reading twice; the store never does.
    for (const a of accepted) {
      this.deps.registry.recordLatest(this.entry, a.ts, a.metrics);
      this.deps.events.emit('telemetry', { deviceId: this.deviceId, ts: a.ts, metrics: a.metrics });
    }
    const written = this.deps.pipeline.append(points).then(
      () => {
        for (const seq of seqs) window.pending.delete(seq);
        // Only now may these seqs be persisted: a resend of one still in flight must be stored [FP-4.2].
        if (seqs.length > 0) this.deps.registry.seqsCommitted(this.entry, window);
      },
      (err: unknown) => {
        // Not stored, so not acknowledged: the device will resend these, and
        // they must not be taken for duplicates then.
        for (const seq of seqs) window.forget(seq);
        throw err;
      },
    );
    for (const seq of seqs) window.pending.set(seq, written);
    return waitFor ? Promise.all([written, ...waitFor]).then(() => undefined) : written;
  }

  /** Hub timestamps of one device strictly increase, so two readings never share a series timestamp. */
  private stamp(now: number): number {
    const ts = Math.max(now, this.entry.lastStampTs + 1);
    this.entry.lastStampTs = ts;
    return ts;
  }

  /**
   * The one funnel for this device's protocol errors: logged, counted, sent
   * to the device, and past the limit the connection is closed [FP-8].
   */
  fail(err: unknown, context: { ref?: string | number; topic?: string } = {}): void {
    const error = err instanceof ProtocolError ? err : new ProtocolError('internal_error');
    if (!(err instanceof ProtocolError)) this.deps.log.error({ err, deviceId: this.deviceId }, 'unexpected error handling a device message');
    const message: ErrorMessage = { v: 1, type: 'error', code: error.status, error: error.error, message: error.message };
    const ref = context.ref ?? error.ref;
    if (ref !== undefined) message.ref = ref;
    // A foreign topic can be 65,535 bytes: echoed whole it would break the size promise of hub messages [FP-7.2].
    if (context.topic !== undefined) message.topic = clip(context.topic, TOPIC_ECHO_CHARS);
    this.deps.log.warn({ deviceId: this.deviceId, transport: this.link.transport, error: error.error, detail: error.message, ...context }, 'device protocol error');
    this.link.send(message);
    this.deps.countError?.(error.error);
    // Storage trouble is the hub's, not the device's: it does not count.
    if (error.status >= 500) return;
    this.entry.stats.errors += 1;
    this.deps.events.emit('deviceError', { deviceId: this.deviceId, error: error.error, ts: Date.now() });
    this.statsChanged();
    this.strikes += 1;
    if (this.strikes >= MAX_ERRORS_BEFORE_DISCONNECT) {
      this.link.send({ v: 1, type: 'error', code: 429, error: 'too_many_errors', message: 'too many protocol errors: disconnecting' });
      this.close('too-many-errors');
    }
  }

  close(reason: CloseReason): void {
    this.link.close(reason);
  }

  /**
   * New protocol errors or seq gaps are what the dashboard flags as alerts:
   * pushed as a device update, at most every few seconds per connection, so
   * a lossy or faulty device cannot flood the dashboards.
   */
  private statsChanged(now = Date.now()): void {
    if (now - this.lastStatsPush < STATS_PUSH_INTERVAL_MS) return;
    this.lastStatsPush = now;
    this.deps.events.emit('deviceUpdated', { device: this.deps.registry.view(this.entry) });
  }

  /**
   * The transport says this connection now receives these channels: a
   * WebSocket at once, MQTT once the device subscribed to them. What waits
   * for the device (commands, desired state) is sent then, never into a
   * connection that would drop it.
   */
  markReady(channels: Iterable<ControlChannel>): void {
    for (const channel of channels) {
      if (this.ready.has(channel) || this.ended) continue;
      this.ready.add(channel);
      this.deliverReady(channel);
    }
  }

  /**
   * Sends what waits on one channel after what waits on the channels before
   * it, so the desired state still comes before commands when a service
   * reads its store asynchronously (cluster mode). Synchronous services send
   * at once, as before.
   */
  private deliverReady(channel: ControlChannel): void {
    const deliver = (): void | Promise<void> => {
      if (this.ended) return;
      return channel === 'commands' ? this.deps.commands.deviceReady(this.deviceId, this.link) : this.deps.state.deviceReady(this.deviceId, this.link);
    };
    const sent = this.readySending === null ? deliver() : this.readySending.then(deliver);
    if (sent === undefined) return;
    const settled: Promise<void> = sent.catch((err: unknown) => {
      this.deps.log.error({ err, deviceId: this.deviceId, channel }, 'sending what waits for a ready device failed');
    });
    this.readySending = settled;
    void settled.then(() => {
      if (this.readySending === settled) this.readySending = null;
    });
  }

  isReadyFor(channel: ControlChannel): boolean {
    return this.ready.has(channel) && !this.ended;
  }

  /**
   * Called by the transport exactly when the connection is gone. `clean` is
   * an orderly goodbye (MQTT DISCONNECT, WS close by the device).
   */
  end(how: { clean: boolean; reason?: PresenceReason }): void {
    if (this.ended) return;
    this.ended = true;
    // Messages still waiting for their turn were never acknowledged: the device sends them again.
    for (const timer of this.waiting) {
      clearTimeout(timer);
      this.deps.rateLimiter?.giveBack(this.deviceId);
    }
    this.waiting.clear();
    this.deps.rateLimiter?.release(this.deviceId);
    this.onEnd(this);
    if (this.replaced || this.deps.registry.get(this.deviceId) !== this.entry) return;
    const reason: PresenceReason = how.reason ?? (how.clean ? 'disconnected' : this.announcedOffline ? 'last-will' : 'connection-lost');
    const { claims } = this.deps;
    if (!claims) return this.deps.registry.setPresence(this.entry, 'offline', reason, this.link.transport);
    // Another node may hold the device by now (a newer claim): then it stays online there.
    claims.release(this.deviceId, this.epoch, reason).then(
      (released) => {
        if (released && this.deps.registry.get(this.deviceId) === this.entry) this.deps.registry.setPresence(this.entry, 'offline', reason, this.link.transport, Date.now(), this.epoch);
      },
      (err: unknown) => this.deps.log.warn({ err, deviceId: this.deviceId }, 'releasing the claim of an ended session failed: the node-lost sweep or the next claim settles it'),
    );
  }
}
