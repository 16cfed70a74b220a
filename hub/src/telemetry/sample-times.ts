/**
 * The time of each telemetry sample and the checks on it [FP-4.2]: `ts` from
 * the device's clock, or `age` (ms before the message was sent) from a device
 * without one, checked against the hub's window; and no two different
 * readings of one metric at one time (`ts_conflict`).
 */
import { MAX_TS_FUTURE_MS, MAX_TS_PAST_MS, ProtocolError, type LatestValue, type MetricValue, type TelemetrySample } from '@iot-hub/protocol';

/** A store that keeps raw readings for less than MAX_TS_PAST_MS: its limit and why [FP-4.2]. */
export interface MaxAge {
  maxPastMs: number;
  detail: string;
}

/** The sample's time as the device gave it (`ts`, or arrival − `age`); undefined = the hub stamps it. */
export function sampleTime(s: TelemetrySample, now: number): number | undefined {
  if (s.ts !== undefined) return s.ts;
  return s.age === undefined ? undefined : now - s.age;
}

/**
 * bad_timestamp for the first sample whose time lies outside the window, or
 * null. Never acknowledge what the store would refuse: its retention narrows
 * the window [FP-4.2].
 */
export function checkTimes(samples: readonly TelemetrySample[], now: number, maxAge: MaxAge | undefined): ProtocolError | null {
  const maxPastMs = maxAge ? Math.min(maxAge.maxPastMs, MAX_TS_PAST_MS) : MAX_TS_PAST_MS;
  for (const s of samples) {
    const ts = sampleTime(s, now);
    if (ts === undefined || (ts <= now + MAX_TS_FUTURE_MS && ts >= now - maxPastMs)) continue;
    const why = ts < now - MAX_TS_PAST_MS || ts > now || !maxAge ? '' : `; ${maxAge.detail}`;
    const what = s.ts !== undefined ? `ts ${ts}` : `age ${s.age} ms (ts ${ts})`;
    return new ProtocolError('bad_timestamp', `${what} is ${ts > now ? 'ahead of' : 'behind'} the hub clock by ${Math.abs(ts - now)} ms${why}`);
  }
  return null;
}

/** Booleans are stored as 1 and 0, and come back from the store so: compared the same way. */
function same(a: MetricValue, b: MetricValue): boolean {
  return (typeof a === 'boolean' ? Number(a) : a) === (typeof b === 'boolean' ? Number(b) : b);
}

function conflict(metric: string, ts: number, value: MetricValue, other: MetricValue, where: string): ProtocolError {
  return new ProtocolError(
    'ts_conflict',
    `metric ${JSON.stringify(metric)} at ts ${ts}: ${JSON.stringify(value)} here, ${JSON.stringify(other)} ${where}; give every reading its own time`,
  );
}

/**
 * ts_conflict when two readings of one metric would share a time [FP-4.2]:
 * two samples of this message with different values, or a sample and the
 * newest reading the hub holds for that metric. The same value again is a
 * resend, not a conflict. Hub-stamped samples are left out: their times are
 * the hub's choice, not the device's.
 *
 * O(1) per reading for the usual message (one sample, or a batch in time
 * order either way); a batch with repeated or unordered times is compared
 * through a map.
 */
export function findTsConflict(samples: readonly TelemetrySample[], now: number, latest: ReadonlyMap<string, LatestValue>): ProtocolError | null {
  let previous = NaN;
  let direction = 0;
  let ordered = true;
  for (const s of samples) {
    const ts = sampleTime(s, now);
    if (ts === undefined) continue;
    for (const metric in s.metrics) {
      const held = latest.get(metric);
      if (held !== undefined && held.ts === ts && !same(held.value, s.metrics[metric] as MetricValue)) {
        return conflict(metric, ts, s.metrics[metric] as MetricValue, held.value, 'held by the hub');
      }
    }
    if (ordered && previous === previous) {
      const step = Math.sign(ts - previous);
      if (step === 0 || (direction !== 0 && step !== direction)) ordered = false;
      direction = step;
    }
    previous = ts;
  }
  return ordered ? null : findConflictWithin(samples, now);
}

/** Two samples of one message at one time with different values of a metric. */
function findConflictWithin(samples: readonly TelemetrySample[], now: number): ProtocolError | null {
  const seen = new Map<number, { index: number; metrics: Record<string, MetricValue> }[]>();
  for (const [index, s] of samples.entries()) {
    const ts = sampleTime(s, now);
    if (ts === undefined) continue;
    const earlier = seen.get(ts);
    if (!earlier) {
      seen.set(ts, [{ index, metrics: s.metrics }]);
      continue;
    }
    for (const metric in s.metrics) {
      const value = s.metrics[metric] as MetricValue;
      for (const e of earlier) {
        if (Object.hasOwn(e.metrics, metric) && !same(e.metrics[metric] as MetricValue, value)) {
          return conflict(metric, ts, value, e.metrics[metric] as MetricValue, `in sample ${e.index} of this message`);
        }
      }
    }
    earlier.push({ index, metrics: s.metrics });
  }
  return null;
}
