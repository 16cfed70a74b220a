/**
 * When people are about in a home, by local hour: the rate of events
 * (motion, doors) per hour. Low at night, peaks in the morning and evening.
 */
import type { Random } from '../random.js';

/** Relative activity by local hour 0..23 (1 = an evening at home). */
const ACTIVITY_BY_HOUR: readonly number[] = [
  0.03, 0.02, 0.02, 0.02, 0.02, 0.05, 0.4, 0.9, 0.7, 0.3, 0.25, 0.3,
  0.45, 0.3, 0.25, 0.3, 0.45, 0.7, 0.95, 1, 0.9, 0.7, 0.4, 0.1,
];

export function activityAt(hour: number): number {
  return ACTIVITY_BY_HOUR[Math.floor(hour) % 24] as number;
}

/**
 * Times of the events of a Poisson process in (fromMs, toMs], whose rate
 * per hour is `ratePerHour(tMs)`; the rate is re-read at every step, so
 * it may follow the time of day. Looks back at most `maxSpanMs`, so a
 * device woken after a year does not walk through a year of events.
 */
export function poissonEvents(
  random: Random,
  fromMs: number,
  toMs: number,
  ratePerHour: (tMs: number) => number,
  maxSpanMs = 3_600_000,
): number[] {
  const events: number[] = [];
  let t = Math.max(fromMs, toMs - maxSpanMs);
  // Thinning with a step of at most a minute: the rate changes slowly against that.
  const stepMs = 60_000;
  while (t < toMs) {
    const end = Math.min(toMs, t + stepMs);
    const rate = Math.max(0, ratePerHour(t)) / 3_600_000;
    let u = t;
    for (;;) {
      if (rate <= 0) break;
      u += -Math.log(1 - random.next()) / rate;
      if (u > end) break;
      events.push(Math.round(u));
    }
    t = end;
  }
  return events;
}
