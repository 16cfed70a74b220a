/**
 * Where notifiers and the delivery outbox live, behind an async interface so
 * a PostgreSQL store can follow for cluster mode. The outbox holds one row
 * per notification × notifier until it is delivered (deleted) or dead-
 * lettered (kept, newest DEAD_LETTERS_KEPT per notifier), so a restart
 * resumes what was pending and never re-sends what was delivered.
 *
 * The HMAC secret of each notifier is stored in clear: signing needs it. The
 * store keeps it to itself (file mode 0600); the API never returns it after
 * creation and no log line carries it.
 */
import type { AlertNotification, AlertSeverity, DeadLetterView } from '@iot-hub/protocol';

export interface NotifierRecord {
  id: string;
  type: 'webhook';
  name: string;
  url: string;
  secret: string;
  minSeverity: AlertSeverity;
  createdAt: number;
  delivered: number;
  deadLettered: number;
  lastError: { at: number; message: string } | null;
}

/** A pending delivery, claimed for one attempt. */
export interface DeliveryRow {
  id: number;
  notifierId: string;
  notificationId: string;
  /** The exact JSON body: the signature is over these bytes, the same at every attempt. */
  body: string;
  attempts: number;
  createdAt: number;
}

export interface NotificationToQueue {
  notification: AlertNotification;
  body: string;
  notifierIds: readonly string[];
}

export interface NotifierStore {
  open(): Promise<void>;
  close(): Promise<void>;
  create(record: NotifierRecord): Promise<void>;
  /** Deletes the notifier and its pending deliveries and dead letters; false if there was none. */
  remove(id: string): Promise<boolean>;
  list(): Promise<NotifierRecord[]>;
  /**
   * Queues one notification for these notifiers and records which alerts are
   * now notified as firing (or no longer). A notifier with MAX_PENDING_PER_NOTIFIER
   * deliveries waiting gets this one dead-lettered at once: its id is returned.
   */
  enqueue(item: NotificationToQueue, now: number): Promise<string[]>;
  /** Ids of alerts whose firing was notified and whose resolution not yet (they survive a restart). */
  notifiedFiring(): Promise<string[]>;
  /** Forgets alerts that resolved without a notification (silenced). */
  forgetFiring(alertIds: readonly string[]): Promise<void>;
  /** Due deliveries of one notifier, oldest first; each is leased until `leaseUntil` so a crash mid-attempt retries it later. */
  claimDue(notifierId: string, now: number, limit: number, leaseUntil: number): Promise<DeliveryRow[]>;
  /** When the next pending delivery of these notifiers falls due, or null when none waits. */
  nextDueAt(notifierIds: readonly string[]): Promise<number | null>;
  delivered(delivery: DeliveryRow): Promise<void>;
  retryLater(delivery: DeliveryRow, nextAt: number, error: string, at: number): Promise<void>;
  /** An attempt cut short by stop(): due again at once, the attempt not counted. */
  release(delivery: DeliveryRow, at: number): Promise<void>;
  deadLetter(delivery: DeliveryRow, error: string, at: number): Promise<void>;
  deadLetters(notifierId: string, limit: number): Promise<DeadLetterView[]>;
  /** Pending deliveries per notifier, and how many of them have failed at least once. */
  pendingCounts(): Promise<Map<string, { pending: number; retrying: number }>>;
}
