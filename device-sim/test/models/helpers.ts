import type { MetricValue } from '@iot-hub/protocol';

/** 2024-06-01 00:00 UTC: a Saturday, midnight, so hours of the day are easy to read. */
export const START = Date.UTC(2024, 5, 1, 0, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/** Readings every `stepMs` from START for `spanMs`. */
export function run(model: { sample(now: number): Record<string, MetricValue> }, spanMs: number, stepMs = 5 * MINUTE): Record<string, MetricValue>[] {
  return Array.from({ length: Math.floor(spanMs / stepMs) }, (_, i) => model.sample(START + i * stepMs));
}
