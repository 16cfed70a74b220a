/**
 * Whether a reading meets a rule's condition. An alert that is firing is
 * tested against the clear side (hysteresis): `above 30, clear 28` keeps
 * firing at 29. Booleans count as 1 and 0.
 */
import type { MetricValue, RuleCondition } from '@iot-hub/protocol';

export type ThresholdCondition = Extract<RuleCondition, { type: 'above' | 'below' | 'outside' }>;
export type RateCondition = Extract<RuleCondition, { type: 'rate' }>;

export function numeric(value: MetricValue): number {
  return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

export function thresholdHolds(c: ThresholdCondition, v: number, firing: boolean): boolean {
  switch (c.type) {
    case 'above':
      return v > (firing ? (c.clear ?? c.value) : c.value);
    case 'below':
      return v < (firing ? (c.clear ?? c.value) : c.value);
    case 'outside': {
      if (!firing) return v < c.low || v > c.high;
      const margin = c.clearMargin ?? 0;
      return v < c.low + margin || v > c.high - margin;
    }
  }
}

/** Units a minute between two readings; null when they share a timestamp. */
export function ratePerMinute(prev: { value: number; ts: number }, v: number, ts: number): number | null {
  if (ts <= prev.ts) return null;
  return ((v - prev.value) * 60_000) / (ts - prev.ts);
}

export function rateHolds(c: RateCondition, perMinute: number): boolean {
  if (c.direction === 'rise') return perMinute > c.perMinute;
  if (c.direction === 'fall') return perMinute < -c.perMinute;
  return Math.abs(perMinute) > c.perMinute;
}

/** What `{threshold}` shows in a summary. */
export function thresholdText(c: RuleCondition, forSec: number): string {
  switch (c.type) {
    case 'above':
    case 'below':
      return String(c.value);
    case 'outside':
      return `${c.low}..${c.high}`;
    case 'rate':
      return `${c.perMinute}/min`;
    case 'errors':
      return String(c.count);
    case 'no_data':
    case 'offline':
      return `${forSec} s`;
  }
}
