/**
 * Group commit in front of the store: points appended during one turn of the
 * event loop are written in one transaction, and every caller learns when its
 * points are durable. Transports acknowledge a device (MQTT PUBACK, WS ack)
 * only after that, which is what keeps [G1].
 *
 * A store that applies writes in the order they were made (a worker thread
 * taking them from a queue) may have several in flight
 * (`TelemetryStore.orderedWrites`): the next turn's batch goes out at once
 * instead of waiting a thread round trip for the one before.
 */
import { ProtocolError } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { TelemetryPoint, TelemetryStore } from './telemetry-store.js';

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface PipelineOptions {
  /** Points per store write; a larger backlog is written in several. */
  maxBatchPoints: number;
}

export class TelemetryPipeline {
  private pending: TelemetryPoint[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;
  /** Writes in flight. */
  private readonly flushing = new Set<Promise<void>>();
  private readonly maxInFlight: number;
  private stopped = false;
  /** Points written since start; for /healthz and the benchmark. */
  written = 0;
  failedWrites = 0;
  /** Called with the duration in seconds of each store write, ok or failed; set by the metrics module. */
  onWrite: ((seconds: number) => void) | null = null;

  constructor(
    private readonly store: TelemetryStore,
    private readonly log: Logger,
    private readonly options: PipelineOptions = { maxBatchPoints: 5000 },
  ) {
    this.maxInFlight = store.orderedWrites ?? 1;
  }

  /** Resolves once the points are durable; rejects with storage_unavailable if the write failed. */
  append(points: readonly TelemetryPoint[]): Promise<void> {
    if (this.stopped) return Promise.reject(new ProtocolError('storage_unavailable', 'the hub is shutting down'));
    for (const p of points) this.pending.push(p);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.schedule();
    return done;
  }

  private schedule(): void {
    if (this.scheduled || this.flushing.size >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.waiters.length === 0) return;
      const flight: Promise<void> = this.flush().finally(() => {
        this.flushing.delete(flight);
        if (this.waiters.length > 0) this.schedule();
      });
      this.flushing.add(flight);
    });
  }

  private async flush(): Promise<void> {
    const points = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    try {
      for (let i = 0; i < points.length; i += this.options.maxBatchPoints) {
        const started = performance.now();
        try {
          await this.store.write(points.slice(i, i + this.options.maxBatchPoints));
        } finally {
          this.onWrite?.((performance.now() - started) / 1000);
        }
      }
      this.written += points.length;
      for (const w of waiters) w.resolve();
    } catch (err) {
      this.failedWrites += 1;
      this.log.error({ err, points: points.length }, 'telemetry write failed; devices were not acknowledged');
      const error = new ProtocolError('storage_unavailable', (err as Error).message);
      for (const w of waiters) w.reject(error);
    }
  }

  /** Writes what is pending, then refuses new points. */
  async stop(): Promise<void> {
    this.stopped = true;
    while (this.flushing.size > 0 || this.scheduled || this.waiters.length > 0) {
      if (this.flushing.size > 0) await Promise.all(this.flushing);
      else if (this.waiters.length > 0) await this.flush();
      else await new Promise((r) => setImmediate(r));
    }
  }
}
