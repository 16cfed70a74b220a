/**
 * Which alert transitions are notified: firing and resolved ones, never
 * pending ones, acknowledgements (the state does not change) or alerts a
 * silence mutes; a resolved alert only if its firing was notified, so a
 * receiver never hears of the end of something it was not told began.
 */
import { ALERT_SEVERITIES, type AlertSeverity, type AlertState, type AlertView } from '@iot-hub/protocol';
import type { NotifiedState } from './notification-grouper.js';

export type NotifyDecision = { notify: NotifiedState } | { notify: null; forget: boolean };

/** `notifiedFiring`: ids of alerts whose firing was notified and whose resolution was not yet. */
export function decide(alert: AlertView, from: AlertState | null, notifiedFiring: ReadonlySet<string>, now: number): NotifyDecision {
  if (alert.state === 'pending' || from === alert.state) return { notify: null, forget: false };
  const silenced = alert.silencedUntil !== null && alert.silencedUntil > now;
  if (alert.state === 'firing') return silenced ? { notify: null, forget: false } : { notify: 'firing' };
  // Resolved: whatever is decided, the alert's firing is over and no longer remembered.
  if (!notifiedFiring.has(alert.id)) return { notify: null, forget: false };
  return silenced ? { notify: null, forget: true } : { notify: 'resolved' };
}

/** critical > warning > info: a notifier with minSeverity warning takes critical and warning. */
export function severityAtLeast(severity: AlertSeverity, min: AlertSeverity): boolean {
  return ALERT_SEVERITIES.indexOf(severity) <= ALERT_SEVERITIES.indexOf(min);
}
