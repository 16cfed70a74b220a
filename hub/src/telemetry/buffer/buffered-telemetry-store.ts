/**
 * A TelemetryStore that makes InfluxDB safe to acknowledge against:
 * write() resolves once the points are in the durable local buffer (so the
 * pipeline and the MQTT/WS acks keep their meaning), and a drainer sends
 * them on in id order:
 *
 *   batch     buffered segments until they hold batchPoints points, or
 *             whatever waited flushMs; posted as the line protocol they are
 *             stored in
 *   send      at most `concurrency` batches in flight
 *   retry     transient errors (5xx, timeouts, refused connections): the same
 *             batch with the same timestamps, exponential backoff with jitter;
 *             a retried point overwrites itself, so nothing is duplicated
 *   reject    RejectedPointsError (InfluxDB 400, e.g. a field type conflict):
 *             split into lines, then in halves until the bad points are alone,
 *             write the good ones, dead-letter the bad ones to a JSON-lines
 *             file with reason
 *   remove    rows leave the buffer only after the store accepted them (or
 *             they were dead-lettered): a crash in between resends them
 *
 * Reads go to the remote store; points still in the buffer show up in
 * history() once drained (within flushMs when the store is up). latest()
 * also looks at the buffer, so the registry has current values while the
 * store is down.
 */
import { appendFileSync } from 'node:fs';
import type { Logger } from 'pino';
import {
  RejectedPointsError,
  type HistoryQuery,
  type HistoryResult,
  type StoredValue,
  type StoreStatus,
  type TelemetryPoint,
  type TelemetryStore,
  latestRecord,
} from '../telemetry-store.js';
import { parsePointLine } from '../influx/influx-schema.js';
import type { BufferedBatch, TelemetryBuffer } from './telemetry-buffer.js';

/** The store behind the buffer: it takes the buffered line protocol as is. */
export interface LineProtocolStore extends TelemetryStore {
  writeLines(body: string): Promise<void>;
}

export interface BufferedStoreOptions {
  batchPoints: number;
  flushMs: number;
  concurrency: number;
  /** JSON lines of points the store refused for good, with the reason. */
  deadLetterFile: string;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Called after a backlog drained with points older than lateAfterMs (e.g. to backfill rollups). */
  onLateData?: (from: number, to: number) => Promise<void>;
  lateAfterMs?: number;
  log: Logger;
}

/** Share of the quota at which the buffer counts as nearly full (logged, /healthz degraded). */
const NEARLY_FULL = 0.8;

export class BufferedTelemetryStore implements TelemetryStore {
  readonly kind: string;
  private cursor = 0;
  private queued = 0;
  private queuedSince = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private flushWaiters: { upTo: number; resolve: () => void }[] = [];
  private readonly sleeping = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private readonly inFlightDone = new Set<Promise<void>>();
  private overlay = new Map<string, Record<string, StoredValue>>();
  private reachable = true;
  private lastError: string | undefined;
  private warnedFull = false;
  private late: { from: number; to: number } | null = null;
  deadLettered = 0;
  delivered = 0;
  /** Write requests sent to the store (for InfluxDB one HTTP POST each), retries and splits included. */
  writeRequests = 0;

  constructor(
    private readonly inner: LineProtocolStore,
    private readonly buffer: TelemetryBuffer,
    private readonly options: BufferedStoreOptions,
  ) {
    this.kind = inner.kind;
  }

  async open(): Promise<void> {
    this.buffer.open();
    this.overlay = this.buffer.latestBySeries();
    this.queued = this.buffer.count;
    this.queuedSince = Date.now();
    if (this.queued > 0) this.options.log.info({ points: this.queued }, 'telemetry buffer holds points from before the restart: sending them first');
    await this.inner.open();
    const initial = this.inner.status?.();
    if (initial && !initial.ok) {
      this.reachable = false;
      this.lastError = initial.error;
    }
    this.pump(true);
  }

  async write(points: readonly TelemetryPoint[]): Promise<void> {
    if (this.closed) throw new Error('BufferedTelemetryStore is closed');
    if (points.length === 0) return;
    this.buffer.append(points);
    for (const p of points) {
      const entry = this.overlay.get(p.deviceId) ?? latestRecord();
      const known = entry[p.metric];
      if (!known || known.ts <= p.ts) entry[p.metric] = { ts: p.ts, value: p.value };
      this.overlay.set(p.deviceId, entry);
    }
    if (this.queued === 0) this.queuedSince = Date.now();
    this.queued += points.length;
    this.checkQuota();
    this.pump(false);
  }

  history(query: HistoryQuery): Promise<HistoryResult> {
    return this.inner.history(query);
  }

  async latest(deviceId: string): Promise<Record<string, StoredValue>> {
    const stored = latestRecord();
    try {
      // Into a record without prototype, whatever the inner store returned (metric names are device-chosen).
      Object.assign(stored, await this.inner.latest(deviceId));
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message, deviceId }, 'latest values from the store failed: using the local buffer only');
    }
    for (const [metric, v] of Object.entries(this.overlay.get(deviceId) ?? {})) {
      const s = stored[metric];
      if (!s || s.ts < v.ts) stored[metric] = v;
    }
    return stored;
  }

  /** Every device's newest values from the store, and from this node's buffer where newer; rejects when the store cannot answer. */
  async latestOfAll(): Promise<Map<string, Record<string, StoredValue>>> {
    if (!this.inner.latestOfAll) throw new Error('the telemetry store cannot read every latest value at once');
    const all = new Map<string, Record<string, StoredValue>>();
    for (const [deviceId, values] of await this.inner.latestOfAll()) all.set(deviceId, Object.assign(latestRecord(), values));
    for (const [deviceId, values] of this.overlay) {
      let stored = all.get(deviceId);
      if (!stored) all.set(deviceId, (stored = latestRecord()));
      for (const [metric, v] of Object.entries(values)) {
        const s = stored[metric];
        if (!s || s.ts < v.ts) stored[metric] = v;
      }
    }
    return all;
  }

  async deleteDevice(deviceId: string): Promise<void> {
    this.buffer.removeDevice(deviceId);
    this.overlay.delete(deviceId);
    await this.inner.deleteDevice(deviceId);
  }

  status(): StoreStatus {
    const bytes = this.buffer.usedBytes();
    const quotaBytes = this.buffer.options.maxBytes;
    const oldest = this.buffer.count > 0 ? this.buffer.oldestTs() : null;
    const full = bytes >= quotaBytes * NEARLY_FULL;
    return {
      ok: this.reachable && !full,
      ...(this.lastError !== undefined && !this.reachable ? { error: this.lastError } : {}),
      buffer: { points: this.buffer.count, bytes, quotaBytes, oldestAgeSec: oldest === null ? null : Math.max(0, Math.round((Date.now() - oldest) / 1000)), full: bytes >= quotaBytes },
      deadLettered: this.deadLettered,
      delivered: this.delivered,
      writeRequests: this.writeRequests,
    };
  }

  /** Resolves when every point written before the call has left the buffer. */
  flush(): Promise<void> {
    const upTo = this.buffer.maxId();
    const min = this.buffer.minId();
    if (min === null || min > upTo) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.flushWaiters.push({ upTo, resolve }));
    this.pump(true);
    return done;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const s of this.sleeping) {
      clearTimeout(s.timer);
      s.resolve();
    }
    // Requests already sent may finish (and leave the buffer); the rest waits for the next start.
    await Promise.race([Promise.allSettled([...this.inFlightDone]), new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.buffer.close();
    await this.inner.close();
    for (const w of this.flushWaiters) w.resolve();
    this.flushWaiters = [];
  }

  /** Dispatches full batches, and partial ones once they waited flushMs (or when forced). */
  private pump(force: boolean): void {
    if (this.closed) return;
    const due = force || this.flushWaiters.length > 0 || Date.now() - this.queuedSince >= this.options.flushMs;
    while (this.inFlight < this.options.concurrency && this.queued > 0) {
      if (this.queued < this.options.batchPoints && !due) break;
      const batch = this.buffer.read(this.cursor, this.options.batchPoints);
      if (!batch) {
        this.queued = 0;
        break;
      }
      this.cursor = batch.lastId;
      this.queued = Math.max(0, this.queued - batch.points);
      this.inFlight += 1;
      const done = this.send(batch).finally(() => {
        this.inFlight -= 1;
        this.inFlightDone.delete(done);
        this.pump(false);
      });
      this.inFlightDone.add(done);
    }
    if (this.queued > 0 && !this.timer && this.inFlight < this.options.concurrency) {
      const wait = Math.max(0, this.options.flushMs - (Date.now() - this.queuedSince));
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump(true);
      }, wait);
    }
    if (this.queued > 0 && due) this.queuedSince = Date.now() - this.options.flushMs;
    else if (this.queued === 0) this.queuedSince = Date.now();
  }

  private async send(batch: BufferedBatch): Promise<void> {
    try {
      await this.deliver(batch.segments.join('\n'), batch.points);
    } catch {
      return; // closed while retrying: the segments stay for the next start
    }
    if (this.closed) return;
    this.buffer.remove(batch.firstId, batch.lastId);
    this.delivered += batch.points;
    this.noteLate(batch);
    this.settleWaiters();
  }

  /** Writes the lines, retrying transient failures; splits on a rejection. Throws only once closed. */
  private async deliver(body: string, points: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new Error('closed');
      try {
        this.writeRequests += 1;
        await this.inner.writeLines(body);
        if (!this.reachable) {
          this.reachable = true;
          this.options.log.info({ buffered: this.buffer.count }, 'telemetry store reachable again: draining the buffer');
        }
        return;
      } catch (err) {
        if (err instanceof RejectedPointsError) return this.reject(body.split('\n'), err);
        this.lastError = (err as Error).message;
        if (this.reachable) {
          this.reachable = false;
          this.options.log.error({ err: this.lastError, buffered: this.buffer.count, points }, 'telemetry store unreachable: points stay in the local buffer and are retried');
        }
        const base = this.options.retryBaseMs ?? 200;
        const cap = this.options.retryMaxMs ?? 15_000;
        const delay = Math.min(cap, base * 2 ** Math.min(attempt, 20));
        await this.sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
  }

  private async reject(lines: string[], err: RejectedPointsError): Promise<void> {
    if (lines.length === 1) {
      const line = lines[0]!;
      const point = parsePointLine(line) ?? { line };
      this.deadLettered += 1;
      appendFileSync(this.options.deadLetterFile, JSON.stringify({ ...point, reason: err.reason, at: new Date().toISOString() }) + '\n');
      this.options.log.warn({ ...point, reason: err.reason, deadLettered: this.deadLettered, file: this.options.deadLetterFile }, 'telemetry point refused by the store: dead-lettered');
      return;
    }
    const half = Math.ceil(lines.length / 2);
    await this.deliver(lines.slice(0, half).join('\n'), half);
    await this.deliver(lines.slice(half).join('\n'), lines.length - half);
  }

  private noteLate(batch: BufferedBatch): void {
    if (!this.options.onLateData) return;
    const lateBefore = Date.now() - (this.options.lateAfterMs ?? 10 * 60_000);
    // A segment's time span is what the buffer knows: the backfill covers all of it.
    if (batch.minTs < lateBefore) {
      this.late = { from: Math.min(this.late?.from ?? batch.minTs, batch.minTs), to: Math.max(this.late?.to ?? batch.maxTs + 1, batch.maxTs + 1) };
    }
    if (this.late && this.buffer.count === 0) {
      const { from, to } = this.late;
      this.late = null;
      this.options.onLateData(from, to).catch((e: unknown) => this.options.log.warn({ err: (e as Error).message, from, to }, 'backfill after a backlog failed'));
    }
  }

  private settleWaiters(): void {
    if (this.flushWaiters.length === 0) return;
    const min = this.buffer.minId();
    this.flushWaiters = this.flushWaiters.filter((w) => {
      if (min !== null && min <= w.upTo) return true;
      w.resolve();
      return false;
    });
  }

  private checkQuota(): void {
    const nearly = this.buffer.usedBytes() >= this.buffer.options.maxBytes * NEARLY_FULL;
    if (nearly && !this.warnedFull) this.options.log.warn({ bytes: this.buffer.usedBytes(), quotaBytes: this.buffer.options.maxBytes }, 'telemetry buffer is over 80% of its quota: when full, devices are refused (not acknowledged) until the store drains it');
    this.warnedFull = nearly;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeping.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.sleeping.add(entry);
    });
  }
}
