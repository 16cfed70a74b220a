/**
 * Wire types of alerting (docs/alerts.md): rules on readings and presence,
 * the alerts they raise per device, silences, and notifiers. Type-only
 * apart from the constants: the dashboard imports them to stay in step.
 */
import type { MetricValue } from './messages.js';

export type AlertSeverity = 'critical' | 'warning' | 'info';
export const ALERT_SEVERITIES: readonly AlertSeverity[] = ['critical', 'warning', 'info'];

/** Which devices a rule watches; each device in scope is tracked separately. */
export type RuleScope =
  | { type: 'device'; deviceId: string }
  | { type: 'kind'; kind: string }
  | { type: 'label'; label: string }
  | { type: 'room'; room: string }
  | { type: 'all' };

/**
 * When a rule's condition holds for one device. Threshold conditions take
 * an optional clear value (hysteresis): once firing, the alert resolves only
 * when the reading is back past `clear`, not merely below `value`.
 */
export type RuleCondition =
  /** metric > value; resolves when metric <= clear (default: value). */
  | { type: 'above'; metric: string; value: number; clear?: number }
  /** metric < value; resolves when metric >= clear (default: value). */
  | { type: 'below'; metric: string; value: number; clear?: number }
  /** metric < low or metric > high; resolves when back inside [low + clearMargin, high - clearMargin]. */
  | { type: 'outside'; metric: string; low: number; high: number; clearMargin?: number }
  /** The metric changes faster than `perMinute` units a minute between two readings (rise, fall or either). */
  | { type: 'rate'; metric: string; perMinute: number; direction: 'rise' | 'fall' | 'either' }
  /** No reading of the metric for the rule's `forSec` (a stale sensor). */
  | { type: 'no_data'; metric: string }
  /** The device is offline for the rule's `forSec`. */
  | { type: 'offline' }
  /** The device caused at least `count` protocol errors [FP-8] within the rule's `forSec`. */
  | { type: 'errors'; count: number };

export type RuleConditionType = RuleCondition['type'];

/** What a rule does besides alerting: a tracked command, sent through the command service with actor `rule:{ruleId}`. */
export interface CommandAction {
  type: 'command';
  /** When to send it: as the alert starts firing (default) or as it resolves. */
  on?: 'firing' | 'resolved';
  deviceId: string;
  name: string;
  params?: Record<string, unknown>;
}

/** What an operator sends to create or replace a rule. */
export interface RuleInput {
  name: string;
  /** Rendered into each alert's summary; may use {device}, {deviceName}, {metric}, {value}, {threshold}, {rule}. */
  description?: string;
  severity: AlertSeverity;
  enabled?: boolean;
  scope: RuleScope;
  condition: RuleCondition;
  /** How long the condition must hold before the alert fires (pending until then); 0 fires at once. */
  forSec?: number;
  /** A firing alert stays firing at least this long, so a flapping reading is one alert, not many. */
  minFiringSec?: number;
  actions?: CommandAction[];
  /** Loop protection: the rule's actions run at most once per this many seconds per target device. */
  actionIntervalSec?: number;
}

export interface AlertRule extends Required<Omit<RuleInput, 'description' | 'actions'>> {
  id: string;
  description: string;
  actions: CommandAction[];
  /** Set on the built-in rules a user can switch on (`device-offline`, `battery-low`, `device-errors`). */
  builtin: string | null;
  createdAt: number;
  updatedAt: number;
  /** Rises by one per change; PUT may pass `ifVersion`. */
  version: number;
}

/** 200/201 answer to creating or changing a rule: `warnings` name what looks wrong but is allowed (e.g. no device of the kind declares the metric yet). */
export interface RuleWriteResponse {
  rule: AlertRule;
  warnings: string[];
}

export interface RuleListResponse {
  rules: AlertRule[];
}

export type AlertState = 'pending' | 'firing' | 'resolved';
export const ALERT_STATES: readonly AlertState[] = ['pending', 'firing', 'resolved'];

/** How far ahead a silence may reach: 30 days. */
export const SILENCE_MAX_SEC = 30 * 24 * 3600;

export interface AlertAck {
  by: string;
  at: number;
  note: string;
}

/** One (rule, device) alert: its current state and what caused it. */
export interface AlertView {
  id: string;
  ruleId: string;
  ruleName: string;
  deviceId: string;
  severity: AlertSeverity;
  state: AlertState;
  /** Epoch ms the condition started to hold (pending began). */
  startedAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
  /** Epoch ms of the last transition. */
  since: number;
  /** The reading that caused the last transition (null for offline and no-data). */
  value: MetricValue | null;
  /** The rule's description rendered for this device. */
  summary: string;
  acknowledged: AlertAck | null;
  /** Epoch ms a silence mutes it until, or null. Silenced alerts still change state; they are not notified. */
  silencedUntil: number | null;
}

/** GET /api/alerts?state=&deviceId=&ruleId=&severity=: alerts not yet resolved (or recently resolved with state=resolved). */
export interface AlertListResponse {
  alerts: AlertView[];
}

export interface AlertHistoryEntry {
  id: number;
  alertId: string;
  ruleId: string;
  deviceId: string;
  severity: AlertSeverity;
  /**
   * `acknowledged` is an operator action kept in the same history; `action`
   * is a command the rule sent or that was refused (the summary says which).
   */
  to: AlertState | 'acknowledged' | 'action';
  ts: number;
  value: MetricValue | null;
  summary: string;
  /** Who, for operator actions; null for transitions the rule made. */
  actor: string | null;
}

/** GET /api/alerts/history?deviceId=&ruleId=&state=&from=&to=&limit=&before=: newest first. */
export interface AlertHistoryResponse {
  entries: AlertHistoryEntry[];
  next: string | null;
}

export interface AcknowledgeRequest {
  note?: string;
}

/** A silence mutes notifications of matching alerts until `until`; at least one matcher is set. */
export interface SilenceInput {
  ruleId?: string;
  deviceId?: string;
  label?: string;
  room?: string;
  /** Epoch ms; at most SILENCE_MAX_SEC ahead. */
  until: number;
  note?: string;
}

export interface SilenceView extends SilenceInput {
  id: string;
  createdBy: string;
  createdAt: number;
}

export interface SilenceListResponse {
  silences: SilenceView[];
}

/**
 * A grouped notification: every transition of one rule to one state within
 * the group window, so 1,000 devices going offline together are one message
 * that lists them. The webhook body and the MQTT `alerts/...` payload.
 */
export interface AlertNotification {
  /** Unique per notification; a receiver can drop repeats of a retried delivery by it. */
  id: string;
  ruleId: string;
  ruleName: string;
  severity: AlertSeverity;
  state: 'firing' | 'resolved';
  /** Epoch ms it was sent first. */
  ts: number;
  alerts: Array<Pick<AlertView, 'id' | 'deviceId' | 'value' | 'summary' | 'startedAt' | 'firedAt' | 'resolvedAt'>>;
}

export type NotifierInput =
  /** POSTs each notification as JSON, signed with HMAC-SHA256 of the body under `secret` (header X-Hub-Signature-256: sha256=<hex>). */
  | { type: 'webhook'; name: string; url: string; secret?: string; minSeverity?: AlertSeverity };

/** A notifier as the API shows it: never its secret. */
export interface NotifierView {
  id: string;
  type: 'webhook';
  name: string;
  url: string;
  minSeverity: AlertSeverity;
  createdAt: number;
  /** Deliveries that succeeded, failed for good (dead-lettered) and wait for a retry. */
  delivered: number;
  deadLettered: number;
  retrying: number;
  lastError: { at: number; message: string } | null;
}

/** 201 answer to POST /api/notifiers: the signing secret is shown only this once (generated when not given). */
export interface NotifierCreateResponse extends NotifierView {
  secret: string;
}

export interface NotifierListResponse {
  notifiers: NotifierView[];
}
