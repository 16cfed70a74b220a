/**
 * The lifecycle of one (rule, device) alert, pure: given whether the
 * condition holds now (and since when), what the alert becomes and when to
 * look again. pending → firing once the condition held for forSec; a firing
 * alert resolves once it stops holding, but not before minFiringSec (so a
 * flapping reading is one alert); a pending one that stops holding ends.
 * "Holds" for a firing alert is the engine's clear test (hysteresis).
 */
import type { AlertState } from '@iot-hub/protocol';

export interface Episode {
  state: AlertState;
  startedAt: number;
  firedAt: number | null;
}

export interface Timing {
  forSec: number;
  minFiringSec: number;
}

export interface Step {
  /** The state to move to, or null to stay. */
  to: AlertState | null;
  /** When to look again even without new input, or null. */
  dueAt: number | null;
}

export function nextStep(cur: Episode | null, holds: boolean, holdsSince: number, now: number, t: Timing): Step {
  const open = cur !== null && cur.state !== 'resolved';
  if (!open) {
    if (!holds) return { to: null, dueAt: null };
    const fireAt = holdsSince + t.forSec * 1000;
    // A duration that already passed (forSec 0, or one that spanned a restart) fires without a pending step.
    return now >= fireAt ? { to: 'firing', dueAt: null } : { to: 'pending', dueAt: fireAt };
  }
  if (cur.state === 'pending') {
    if (!holds) return { to: 'resolved', dueAt: null };
    const fireAt = cur.startedAt + t.forSec * 1000;
    return now >= fireAt ? { to: 'firing', dueAt: null } : { to: null, dueAt: fireAt };
  }
  if (holds) return { to: null, dueAt: null };
  const earliest = (cur.firedAt ?? cur.startedAt) + t.minFiringSec * 1000;
  return now >= earliest ? { to: 'resolved', dueAt: null } : { to: null, dueAt: earliest };
}
