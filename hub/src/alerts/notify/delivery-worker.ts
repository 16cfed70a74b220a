/**
 * Works the delivery outbox: claims due deliveries per notifier (at most
 * `concurrency` in flight each, so one slow receiver neither floods itself
 * nor holds up the others), sends them, and records the outcome: delivered,
 * retried later with backoff, or dead-lettered after `maxAttempts` attempts
 * or `maxAgeMs`. A failure is never silent: it is counted per notifier, kept
 * as the notifier's last error and logged (rate-limited, the URL's origin
 * only, never the secret).
 */
import type { Logger } from 'pino';
import { SampledLog } from '../../sampled-log.js';
import type { DeliveryRow, NotifierRecord, NotifierStore } from './notifier-store.js';
import { retryDelayMs } from './retry-backoff.js';
import { urlOrigin } from './webhook-url.js';
import type { WebhookOutcome } from './webhook-sender.js';

/** After the outbox could not be read. */
const PUMP_RETRY_MS = 5000;

export interface DeliveryWorkerOptions {
  store: NotifierStore;
  /** The notifiers by id, as the service holds them. */
  notifiers: () => ReadonlyMap<string, NotifierRecord>;
  send: (notifier: NotifierRecord, delivery: DeliveryRow, abort: AbortSignal) => Promise<WebhookOutcome>;
  concurrency: number;
  maxAttempts: number;
  maxAgeMs: number;
  /** How long an attempt holds its claim: a hub that dies mid-attempt retries it after this. */
  leaseMs: number;
  log: Logger;
}

/** Per notifier id, for /metrics. */
export interface DeliveryCounts {
  delivered: number;
  retried: number;
  deadLettered: number;
}

export class DeliveryWorker {
  private readonly inFlight = new Map<string, Set<Promise<void>>>();
  private readonly aborts = new Set<AbortController>();
  readonly counts = new Map<string, DeliveryCounts>();
  private timer: NodeJS.Timeout | null = null;
  /** The outbox read under way, if any: stop() waits for it before the store closes. */
  private pumping: Promise<void> | null = null;
  private again = false;
  private running = false;
  private readonly sampled: SampledLog;

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.sampled = new SampledLog(options.log, 60_000);
  }

  start(): void {
    this.running = true;
    this.kick();
  }

  /** Stops claiming; waits up to `graceMs` for attempts in flight, then cuts them short (they are due again at the next start). */
  async stop(graceMs: number): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.pumping;
    const all = (): Promise<unknown> => Promise.all([...this.inFlight.values()].flatMap((s) => [...s]));
    let graceTimer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, graceMs)));
    await Promise.race([all(), grace]);
    clearTimeout(graceTimer);
    for (const a of this.aborts) a.abort();
    await all();
  }

  /** Something became due (a new notification, a restart): look now. */
  kick(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump()
      .catch((err: unknown) => {
        this.options.log.error({ err }, 'reading the notification outbox failed; trying again in 5 s');
        if (this.running) this.timer = setTimeout(() => this.kick(), PUMP_RETRY_MS);
      })
      .finally(() => {
        this.pumping = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  countsOf(notifierId: string): DeliveryCounts {
    let c = this.counts.get(notifierId);
    if (!c) this.counts.set(notifierId, (c = { delivered: 0, retried: 0, deadLettered: 0 }));
    return c;
  }

  /** The store dead-lettered a new delivery at once: the notifier has too many waiting (MAX_PENDING_PER_NOTIFIER). */
  refusedForFullOutbox(notifierId: string, notificationId: string): void {
    this.countsOf(notifierId).deadLettered += 1;
    const notifier = this.options.notifiers().get(notifierId);
    this.sampled.warn(
      `webhook-full:${notifierId}`,
      { notifierId, notifier: notifier?.name, target: notifier ? urlOrigin(notifier.url) : undefined, notificationId },
      'webhook outbox of this notifier is full: notification dead-lettered without an attempt',
    );
  }

  /** A deleted notifier's counters go with it (metric labels stay bounded by MAX_NOTIFIERS). */
  forget(notifierId: string): void {
    this.counts.delete(notifierId);
  }

  private async pump(): Promise<void> {
    const { store, concurrency, leaseMs } = this.options;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const now = Date.now();
    const withRoom: string[] = [];
    for (const notifier of this.options.notifiers().values()) {
      if (!this.running) return;
      const flying = this.inFlight.get(notifier.id)?.size ?? 0;
      if (flying >= concurrency) continue;
      for (const delivery of await store.claimDue(notifier.id, now, concurrency - flying, now + leaseMs)) this.attempt(notifier, delivery);
      if ((this.inFlight.get(notifier.id)?.size ?? 0) < concurrency) withRoom.push(notifier.id);
    }
    // Wake when the next delivery of a notifier with room falls due; a full one is looked at again as an attempt ends.
    const next = await store.nextDueAt(withRoom);
    if (!this.running || next === null) return;
    const wait = next - Date.now();
    this.timer = setTimeout(() => this.kick(), Math.max(wait, 50));
  }

  private attempt(notifier: NotifierRecord, delivery: DeliveryRow): void {
    let set = this.inFlight.get(notifier.id);
    if (!set) this.inFlight.set(notifier.id, (set = new Set()));
    const abort = new AbortController();
    this.aborts.add(abort);
    const p: Promise<void> = this.options
      .send(notifier, delivery, abort.signal)
      .then((outcome) => this.record(notifier, delivery, outcome))
      .catch((err: unknown) => this.options.log.error({ err, notifierId: notifier.id }, 'recording a webhook delivery failed; it is tried again after its lease'))
      .finally(() => {
        this.aborts.delete(abort);
        set.delete(p);
        if (set.size === 0) this.inFlight.delete(notifier.id);
        this.kick();
      });
    set.add(p);
  }

  private async record(notifier: NotifierRecord, delivery: DeliveryRow, outcome: WebhookOutcome): Promise<void> {
    const { store, maxAttempts, maxAgeMs } = this.options;
    const now = Date.now();
    const counts = this.countsOf(notifier.id);
    if (outcome.delivered) {
      counts.delivered += 1;
      await store.delivered(delivery);
      return;
    }
    if (outcome.aborted) return store.release(delivery, now);
    const error = outcome.error ?? 'failed';
    const attempts = delivery.attempts + 1;
    const fields = { notifierId: notifier.id, notifier: notifier.name, target: urlOrigin(notifier.url), notificationId: delivery.notificationId, attempts, error };
    if (attempts >= maxAttempts || now - delivery.createdAt >= maxAgeMs) {
      counts.deadLettered += 1;
      await store.deadLetter(delivery, error, now);
      this.sampled.warn(`webhook-dead:${notifier.id}`, fields, 'webhook delivery failed for good: dead-lettered (GET /api/notifiers/:id/dead-letters)');
      return;
    }
    counts.retried += 1;
    await store.retryLater(delivery, now + retryDelayMs(attempts), error, now);
    this.sampled.warn(`webhook-retry:${notifier.id}`, fields, 'webhook delivery failed: retrying with backoff');
  }
}
