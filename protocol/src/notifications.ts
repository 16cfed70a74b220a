/**
 * Wire types of notification delivery (docs/notifications.md) beside the
 * notifier types in alerts.ts: dead letters and the answer of a test send.
 */
import type { AlertNotification } from './alerts.js';

/** A delivery that failed for good: kept, listed and counted, never silently dropped. */
export interface DeadLetterView {
  id: number;
  notifierId: string;
  notification: AlertNotification;
  attempts: number;
  /** Epoch ms the notification was queued and the delivery gave up. */
  createdAt: number;
  deadAt: number;
  lastError: string;
}

/** GET /api/notifiers/:id/dead-letters: newest first, at most DEAD_LETTERS_KEPT per notifier. */
export interface DeadLetterListResponse {
  deadLetters: DeadLetterView[];
}

/** POST /api/notifiers/:id/test: one signed test notification sent at once, not retried. */
export interface NotifierTestResponse {
  delivered: boolean;
  /** The receiver's HTTP status, or null when none came (refused, timed out). */
  status: number | null;
  error: string | null;
  ms: number;
  notificationId: string;
}

/** Dead letters kept per notifier; older ones are deleted (the count on the notifier keeps rising). */
export const DEAD_LETTERS_KEPT = 1000;
/** Deliveries one notifier may have waiting; past it a new one is dead-lettered at once (a receiver down for long cannot fill the disk). */
export const MAX_PENDING_PER_NOTIFIER = 10_000;
/** Notifiers a hub holds at most. */
export const MAX_NOTIFIERS = 100;
/** Alerts one notification lists at most; a larger group is split into several. */
export const MAX_ALERTS_PER_NOTIFICATION = 1000;
/** Username of tools (Node-RED, Home Assistant) on the MQTT broker: no device id starts with `$`. */
export const MQTT_TOOL_USERNAME = '$api';
