/**
 * Alert notifications: listens to alert transitions on the bus, decides
 * which are notified (notify-policy.ts), groups them (notification-
 * grouper.ts), publishes each notification on the broker under
 * `alerts/{severity}/{ruleId}` and queues one webhook delivery per notifier
 * that takes its severity in the durable outbox, which the delivery worker
 * works off. Also what the notifiers API asks of it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  MAX_ALERTS_PER_NOTIFICATION,
  MAX_NOTIFIERS,
  ProtocolError,
  type AlertNotification,
  type AlertSeverity,
  type DeadLetterView,
  type NotifierCreateResponse,
  type NotifierInput,
  type NotifierTestResponse,
  type NotifierView,
} from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { EventBus, HubEventMap } from '../../events/event-bus.js';
import { DeliveryWorker } from './delivery-worker.js';
import { NotificationGrouper, type AlertGroup } from './notification-grouper.js';
import type { NotifierRecord, NotifierStore } from './notifier-store.js';
import { decide, severityAtLeast } from './notify-policy.js';
import { sendWebhook } from './webhook-sender.js';
import { checkWebhookUrl } from './webhook-url.js';

/** The first notification of a group leaves this long after its first transition (issue 21: webhook p99 ≤ 1 s). */
export const GROUP_WAIT_MS = 500;
/** Then at most one notification per group per this while more transitions arrive. */
export const GROUP_INTERVAL_MS = 5000;
export const WEBHOOK_TIMEOUT_MS = 5000;
/** Attempts in flight per notifier. */
export const WEBHOOK_CONCURRENCY = 4;
/** A delivery still failing this long after it was queued is dead-lettered, whatever its attempts. */
export const DELIVERY_MAX_AGE_MS = 60 * 60_000;
/** stop() waits this long for attempts in flight before cutting them short. */
export const STOP_GRACE_MS = 2000;

export interface NotifyServiceOptions {
  store: NotifierStore;
  events: EventBus;
  /** Publishes on the embedded broker (QoS 1, not retained). */
  publish: (topic: string, payload: Buffer) => void;
  maxAttempts: number;
  log: Logger;
}

/** `alerts/{severity}/{ruleId}`; a rule id with MQTT's reserved characters is percent-encoded so it stays one level. */
export function alertTopic(severity: AlertSeverity, ruleId: string): string {
  const level = /[/+#]/.test(ruleId) || ruleId.includes('\u0000') ? encodeURIComponent(ruleId) : ruleId;
  return `alerts/${severity}/${level}`;
}

function notifierView(r: NotifierRecord, retrying: number): NotifierView {
  return { id: r.id, type: r.type, name: r.name, url: r.url, minSeverity: r.minSeverity, createdAt: r.createdAt, delivered: r.delivered, deadLettered: r.deadLettered, retrying, lastError: r.lastError };
}

export class NotifyService {
  private readonly notifiers = new Map<string, NotifierRecord>();
  private readonly notifiedFiring = new Set<string>();
  private readonly grouper: NotificationGrouper;
  private readonly worker: DeliveryWorker;
  /** Outbox writes not yet done, awaited by stop(). */
  private readonly writes = new Set<Promise<void>>();
  readonly counters = { notifications: 0, mqttPublishes: 0 };

  constructor(private readonly options: NotifyServiceOptions) {
    this.grouper = new NotificationGrouper({ waitMs: GROUP_WAIT_MS, intervalMs: GROUP_INTERVAL_MS, maxAlerts: MAX_ALERTS_PER_NOTIFICATION, flush: (g) => this.send(g) });
    this.worker = new DeliveryWorker({
      store: options.store,
      notifiers: () => this.notifiers,
      send: (notifier, delivery, abort) => sendWebhook(notifier, delivery.notificationId, delivery.body, WEBHOOK_TIMEOUT_MS, abort),
      concurrency: WEBHOOK_CONCURRENCY,
      maxAttempts: options.maxAttempts,
      maxAgeMs: DELIVERY_MAX_AGE_MS,
      leaseMs: WEBHOOK_TIMEOUT_MS + 5000,
      log: options.log,
    });
  }

  async start(): Promise<void> {
    const { store, events } = this.options;
    await store.open();
    for (const r of await store.list()) this.notifiers.set(r.id, r);
    for (const id of await store.notifiedFiring()) this.notifiedFiring.add(id);
    events.on(this, 'alert', (e) => this.onAlert(e));
    this.worker.start();
  }

  /**
   * Attempts in flight get STOP_GRACE_MS; then what waits in groups goes to
   * the outbox (and on MQTT), for the next start to deliver: the worker is
   * stopped first so no new attempt begins while the hub goes down.
   */
  async stop(): Promise<void> {
    this.options.events.removeAllFor(this);
    await this.worker.stop(STOP_GRACE_MS);
    this.grouper.flushAll();
    await Promise.all(this.writes);
    await this.options.store.close();
  }

  /** Per notifier id, for /metrics. */
  get deliveryCounts(): ReadonlyMap<string, { delivered: number; retried: number; deadLettered: number }> {
    return this.worker.counts;
  }

  get groupedAlerts(): number {
    return this.grouper.waiting;
  }

  async outboxDepth(): Promise<number> {
    let n = 0;
    for (const c of (await this.options.store.pendingCounts()).values()) n += c.pending;
    return n;
  }

  private onAlert({ alert, from }: HubEventMap['alert']): void {
    const decision = decide(alert, from, this.notifiedFiring, Date.now());
    if (decision.notify === null) {
      if (decision.forget) {
        this.notifiedFiring.delete(alert.id);
        this.track(this.options.store.forgetFiring([alert.id]));
      }
      return;
    }
    if (decision.notify === 'firing') this.notifiedFiring.add(alert.id);
    else this.notifiedFiring.delete(alert.id);
    this.grouper.add(alert, decision.notify);
  }

  private send(group: AlertGroup): void {
    const notification: AlertNotification = {
      id: `ntf_${randomUUID().replaceAll('-', '')}`,
      ruleId: group.ruleId,
      ruleName: group.ruleName,
      severity: group.severity,
      state: group.state,
      ts: Date.now(),
      alerts: group.alerts.map((a) => ({ id: a.id, deviceId: a.deviceId, value: a.value, summary: a.summary, startedAt: a.startedAt, firedAt: a.firedAt, resolvedAt: a.resolvedAt })),
    };
    // Serialised once: the MQTT payload and every webhook body are these bytes, and the signature is over them.
    const body = JSON.stringify(notification);
    this.counters.notifications += 1;
    this.options.publish(alertTopic(notification.severity, notification.ruleId), Buffer.from(body));
    this.counters.mqttPublishes += 1;
    const notifierIds = [...this.notifiers.values()].filter((n) => severityAtLeast(notification.severity, n.minSeverity)).map((n) => n.id);
    this.track(
      this.options.store.enqueue({ notification, body, notifierIds }, notification.ts).then((full) => {
        for (const id of full) this.worker.refusedForFullOutbox(id, notification.id);
        this.worker.kick();
      }),
    );
  }

  private track(write: Promise<void>): void {
    const p = write
      .catch((err: unknown) => this.options.log.error({ err }, 'writing to the notification outbox failed: this notification is not delivered by webhook'))
      .finally(() => this.writes.delete(p));
    this.writes.add(p);
  }

  // ---- the notifiers API ----

  async list(): Promise<NotifierView[]> {
    const pending = await this.options.store.pendingCounts();
    // Counters are read from the store: the in-memory records were taken at start or creation.
    return (await this.options.store.list()).map((r) => notifierView(r, pending.get(r.id)?.retrying ?? 0));
  }

  async create(input: NotifierInput): Promise<NotifierCreateResponse> {
    if (this.notifiers.size >= MAX_NOTIFIERS) throw new ProtocolError('bad_request', `at most ${MAX_NOTIFIERS} notifiers: delete one first`);
    const record: NotifierRecord = {
      id: `wh_${randomBytes(8).toString('hex')}`,
      type: 'webhook',
      name: input.name,
      url: checkWebhookUrl(input.url),
      secret: input.secret ?? randomBytes(32).toString('base64url'),
      minSeverity: input.minSeverity ?? 'info',
      createdAt: Date.now(),
      delivered: 0,
      deadLettered: 0,
      lastError: null,
    };
    await this.options.store.create(record);
    this.notifiers.set(record.id, record);
    return { ...notifierView(record, 0), secret: record.secret };
  }

  /** The deleted notifier (for the audit entry), or null if there was none. */
  async remove(id: string): Promise<NotifierRecord | null> {
    const record = this.notifiers.get(id);
    if (!record) return null;
    this.notifiers.delete(id);
    this.worker.forget(id);
    await this.options.store.remove(id);
    return record;
  }

  async deadLetters(id: string, limit: number): Promise<DeadLetterView[]> {
    if (!this.notifiers.has(id)) throw new ProtocolError('not_found', `no notifier ${JSON.stringify(id)}`);
    return this.options.store.deadLetters(id, limit);
  }

  /** Sends one signed test notification at once (no retry, not queued) and tells how it went. */
  async test(id: string): Promise<NotifierTestResponse> {
    const notifier = this.notifiers.get(id);
    if (!notifier) throw new ProtocolError('not_found', `no notifier ${JSON.stringify(id)}`);
    const notification: AlertNotification = {
      id: `ntf_${randomUUID().replaceAll('-', '')}`,
      ruleId: 'test',
      ruleName: 'Test notification',
      severity: 'info',
      state: 'firing',
      ts: Date.now(),
      alerts: [],
    };
    const outcome = await sendWebhook(notifier, notification.id, JSON.stringify(notification), WEBHOOK_TIMEOUT_MS);
    return { delivered: outcome.delivered, status: outcome.status, error: outcome.error, ms: outcome.ms, notificationId: notification.id };
  }
}
