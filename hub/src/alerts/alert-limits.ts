/**
 * Every bound of alerting in one place: docs/alerts.md lists them and
 * /metrics exports them (iot_hub_alert_limit), so an operator can see how
 * near a fleet is to each.
 */
export const ALERT_LIMITS = {
  /** Rules stored; a POST past it is refused with 429 too_many_rules. */
  maxRules: 5_000,
  /** Silences stored (active or not yet pruned); a POST past it is refused with 429 too_many_rules. */
  maxSilences: 1_000,
  /** Characters of a rule's name. */
  maxNameChars: 100,
  /** Characters of a rule's description (the summary template). */
  maxDescriptionChars: 1_000,
  /** Characters of an acknowledgement's or a silence's note. */
  maxNoteChars: 1_000,
  /** Command actions per rule. */
  maxActions: 5,
  /** forSec and minFiringSec: at most 7 days. */
  maxDurationSec: 7 * 24 * 3600,
  /** actionIntervalSec: 1 s .. 1 day; the default is 60 s. */
  maxActionIntervalSec: 24 * 3600,
  /** History entries kept: the newest 100,000, and none older than 30 days. */
  maxHistoryEntries: 100_000,
  maxHistoryAgeMs: 30 * 24 * 3600 * 1000,
  /** A resolved alert stays in GET /api/alerts?state=resolved for a day; its history stays longer. */
  resolvedKeepMs: 24 * 3600 * 1000,
  /** Errors remembered per (errors rule, device): one more than any rule can count. */
  maxErrorCount: 1_000,
} as const;

export const DEFAULT_ACTION_INTERVAL_SEC = 60;
