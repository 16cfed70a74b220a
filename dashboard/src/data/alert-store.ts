/**
 * The open alerts (pending and firing) the dashboard shows: the answer of
 * GET /api/alerts, then kept current by the socket's `alert` events. Bounded
 * (MAX_OPEN_ALERTS): past it the oldest change is dropped and counted, so a
 * fleet-wide storm cannot grow the page without end. No DOM.
 *
 * It also says which changes deserve a toast: an alert that has just
 * started firing, is critical and is not silenced.
 */
import type { AlertSeverity, AlertView } from '@iot-hub/protocol';

/** Open alerts held at most; the hub holds one per (rule, device), so a storm could be 1,000s. */
export const MAX_OPEN_ALERTS = 2_000;
/** Ids of alerts seen resolved, kept so a snapshot that raced the resolution cannot bring them back. */
const MAX_RESOLVED_IDS = 2_000;

export const SEVERITY_RANK: Readonly<Record<AlertSeverity, number>> = Object.freeze({ critical: 0, warning: 1, info: 2 });

/** Critical first, then the newest change first. */
export function compareAlerts(a: AlertView, b: AlertView): number {
  return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.since - a.since || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** One device's open alerts, for its row and page. */
export interface DeviceAlertSummary {
  firing: number;
  pending: number;
  /** The worst severity among them. */
  worst: AlertSeverity;
}

export interface AlertCounts {
  firing: number;
  pending: number;
  /** Worst severity of the firing alerts; null when none fires. */
  worstFiring: AlertSeverity | null;
}

export function isSilenced(alert: AlertView, now: number): boolean {
  return alert.silencedUntil !== null && alert.silencedUntil > now;
}

export class AlertStore {
  private readonly open = new Map<string, AlertView>();
  private readonly resolved = new Set<string>();
  /** Alerts dropped to stay within MAX_OPEN_ALERTS since the store was made. */
  dropped = 0;
  /** Bumped on every change, so views can cache what they derive. */
  version = 0;
  private sortedCache: { version: number; list: AlertView[] } | null = null;
  private deviceCache: { version: number; map: Map<string, DeviceAlertSummary> } | null = null;

  constructor(private readonly maxOpen = MAX_OPEN_ALERTS) {}

  /**
   * Replaces the open alerts with an API answer. An alert the socket has
   * told newer news of (a later `since`, or resolved) keeps that news.
   */
  applySnapshot(alerts: readonly AlertView[]): void {
    const previous = new Map(this.open);
    this.open.clear();
    for (const alert of alerts) {
      if (alert.state === 'resolved' || this.resolved.has(alert.id)) continue;
      const known = previous.get(alert.id);
      this.open.set(alert.id, known !== undefined && known.since > alert.since ? known : alert);
    }
    this.trim();
    this.version++;
  }

  /** A live `alert` event. Returns true when it should be toasted (see isToastWorthy). */
  applyEvent(alert: AlertView, now: number): boolean {
    const before = this.open.get(alert.id);
    if (alert.state === 'resolved') {
      this.open.delete(alert.id);
      this.resolved.add(alert.id);
      if (this.resolved.size > MAX_RESOLVED_IDS) this.resolved.delete(this.resolved.values().next().value as string);
      this.version++;
      return false;
    }
    if (this.resolved.has(alert.id)) return false;
    this.open.delete(alert.id);
    this.open.set(alert.id, alert);
    this.trim();
    this.version++;
    return isToastWorthy(before, alert, now);
  }

  get size(): number {
    return this.open.size;
  }

  get(alertId: string): AlertView | undefined {
    return this.open.get(alertId);
  }

  /** Every open alert, critical first and newest first (cached per version). */
  sorted(): AlertView[] {
    if (this.sortedCache?.version !== this.version) this.sortedCache = { version: this.version, list: [...this.open.values()].sort(compareAlerts) };
    return this.sortedCache.list;
  }

  counts(): AlertCounts {
    let firing = 0;
    let pending = 0;
    let worstFiring: AlertSeverity | null = null;
    for (const alert of this.open.values()) {
      if (alert.state === 'pending') pending++;
      if (alert.state !== 'firing') continue;
      firing++;
      if (worstFiring === null || SEVERITY_RANK[alert.severity] < SEVERITY_RANK[worstFiring]) worstFiring = alert.severity;
    }
    return { firing, pending, worstFiring };
  }

  /** Open alerts per device id (cached per version). */
  byDevice(): ReadonlyMap<string, DeviceAlertSummary> {
    if (this.deviceCache?.version === this.version) return this.deviceCache.map;
    const map = new Map<string, DeviceAlertSummary>();
    for (const alert of this.open.values()) {
      const summary = map.get(alert.deviceId) ?? { firing: 0, pending: 0, worst: alert.severity };
      if (alert.state === 'firing') summary.firing++;
      else summary.pending++;
      if (SEVERITY_RANK[alert.severity] < SEVERITY_RANK[summary.worst]) summary.worst = alert.severity;
      map.set(alert.deviceId, summary);
    }
    this.deviceCache = { version: this.version, map };
    return map;
  }

  forDevice(deviceId: string): AlertView[] {
    return this.sorted().filter((alert) => alert.deviceId === deviceId);
  }

  /** Map order is insertion order, and events re-insert: the first entries are the oldest changes. */
  private trim(): void {
    while (this.open.size > this.maxOpen) {
      this.open.delete(this.open.keys().next().value as string);
      this.dropped++;
    }
  }
}

/**
 * A toast says "something critical has just started": the firing transition
 * itself (its `since` is its `firedAt`; an acknowledgement or a silence
 * later re-tells a firing alert), not seen firing before, not silenced.
 */
export function isToastWorthy(before: AlertView | undefined, after: AlertView, now: number): boolean {
  const justFired = after.state === 'firing' && after.firedAt === after.since && before?.state !== 'firing';
  return justFired && after.severity === 'critical' && !isSilenced(after, now);
}
