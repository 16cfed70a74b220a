/**
 * Metric history for the device page's charts: filled once from the hub's
 * downsampled history (GET /api/devices/{id}/telemetry) and then extended
 * with live telemetry events, without fetching again. Live samples land in
 * the hub's bucket grid (same origin, same width), so a bucket keeps its
 * avg/min/max/count as if the hub had computed it; a live range slides, and
 * raw points are folded into buckets once there are more than the chart has
 * pixels for. Pure functions over immutable values: each change returns a
 * new object, so views compare by identity.
 */
import type { HistoryResponse, MetricValue } from '@iot-hub/protocol';

export type RelativeRangeKey = '1h' | '24h' | '7d';

export type HistoryRange = { kind: 'relative'; key: RelativeRangeKey } | { kind: 'custom'; from: number; to: number };

const HOUR = 3_600_000;
export const RELATIVE_RANGES: Readonly<Record<RelativeRangeKey, { label: string; spanMs: number }>> = {
  '1h': { label: '1 h', spanMs: HOUR },
  '24h': { label: '24 h', spanMs: 24 * HOUR },
  '7d': { label: '7 d', spanMs: 7 * 24 * HOUR },
};

export const DEFAULT_RANGE: HistoryRange = { kind: 'relative', key: '1h' };

export function rangeBounds(range: HistoryRange, now: number): { from: number; to: number } {
  if (range.kind === 'custom') return { from: range.from, to: range.to };
  return { from: now - RELATIVE_RANGES[range.key].spanMs, to: now };
}

/** A relative range follows now and slides; a custom one stays where it is. */
export function rangeSlides(range: HistoryRange): boolean {
  return range.kind === 'relative';
}

/** Whether live samples belong in the range: always for a relative range, for a custom one while it reaches now. */
export function rangeIsLive(range: HistoryRange, now: number): boolean {
  return range.kind === 'relative' || range.to >= now;
}

export function sameRange(a: HistoryRange, b: HistoryRange): boolean {
  if (a.kind === 'relative') return b.kind === 'relative' && a.key === b.key;
  return b.kind === 'custom' && a.from === b.from && a.to === b.to;
}

/**
 * Points to ask per chart: about one per pixel of a chart's width. Charts
 * share the page in columns of at least ~26rem, so estimate from the window.
 */
export function chartPointBudget(windowWidth: number): number {
  const available = Math.max(320, windowWidth - 64);
  const columns = Math.max(1, Math.floor(available / 440));
  return Math.round(Math.min(2000, Math.max(150, available / columns)));
}

/** One metric's points, column by column (what uPlot draws), sorted by time. */
export interface SeriesBuffer {
  readonly metric: string;
  /** Bucket start (or the sample's time when raw), epoch ms. */
  readonly ts: readonly number[];
  readonly avg: readonly number[];
  readonly min: readonly number[];
  readonly max: readonly number[];
  readonly count: readonly number[];
}

export interface HistoryData {
  readonly range: HistoryRange;
  /** The window shown, epoch ms; slides with live samples for a relative range. */
  readonly from: number;
  readonly to: number;
  /** Origin of the bucket grid: the `from` the hub bucketed from. */
  readonly origin: number;
  /** Bucket width in ms; 0 while points are raw samples. */
  readonly bucketMs: number;
  /** Most points per series before raw points are folded into buckets. */
  readonly maxPoints: number;
  readonly series: ReadonlyMap<string, SeriesBuffer>;
}

/** The hub's bucket width for a range and a point budget (hub/src/telemetry/telemetry-store.ts). */
export function bucketWidth(from: number, to: number, maxPoints: number): number {
  return Math.max(1, Math.ceil((to - from + 1) / maxPoints));
}

function emptySeries(metric: string): SeriesBuffer {
  return { metric, ts: [], avg: [], min: [], max: [], count: [] };
}

export function historyFromResponse(range: HistoryRange, response: HistoryResponse, maxPoints: number): HistoryData {
  const series = new Map<string, SeriesBuffer>();
  for (const { metric, points } of response.series) {
    series.set(metric, {
      metric,
      ts: points.map((p) => p.ts),
      avg: points.map((p) => p.avg),
      min: points.map((p) => p.min),
      max: points.map((p) => p.max),
      count: points.map((p) => p.count),
    });
  }
  return { range, from: response.from, to: response.to, origin: response.from, bucketMs: response.bucketMs, maxPoints, series };
}

/** The newest time in a series, or -Infinity when it is empty. */
export function lastTs(series: SeriesBuffer | undefined): number {
  return series && series.ts.length > 0 ? (series.ts[series.ts.length - 1] as number) : -Infinity;
}

/** Index of the first point at or after `ts` (binary search). */
function lowerBound(ts: readonly number[], value: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Numbers as they are; booleans as the 1/0 the hub stores. */
export function numericValue(value: MetricValue): number | null {
  if (typeof value === 'boolean') return value ? 1 : 0;
  return Number.isFinite(value) ? value : null;
}

/**
 * Adds one sample. In raw mode it is a point of its own (a sample with the
 * same time replaces the one there: a resend); with buckets it merges into
 * the bucket it falls in, weighting the average by count.
 */
export function addSample(series: SeriesBuffer, ts: number, value: number, origin: number, bucketMs: number): SeriesBuffer {
  const at = bucketMs > 0 ? origin + Math.floor((ts - origin) / bucketMs) * bucketMs : ts;
  const i = lowerBound(series.ts, at);
  const next = { metric: series.metric, ts: [...series.ts], avg: [...series.avg], min: [...series.min], max: [...series.max], count: [...series.count] };
  if (series.ts[i] === at) {
    if (bucketMs === 0) {
      next.avg[i] = next.min[i] = next.max[i] = value;
      next.count[i] = 1;
    } else {
      const count = series.count[i] as number;
      next.avg[i] = ((series.avg[i] as number) * count + value) / (count + 1);
      next.min[i] = Math.min(series.min[i] as number, value);
      next.max[i] = Math.max(series.max[i] as number, value);
      next.count[i] = count + 1;
    }
  } else {
    next.ts.splice(i, 0, at);
    next.avg.splice(i, 0, value);
    next.min.splice(i, 0, value);
    next.max.splice(i, 0, value);
    next.count.splice(i, 0, 1);
  }
  return next;
}

/** Drops points that ended before `from`: a bucket ends at its start + width, a raw point at its time. */
export function trimBefore(series: SeriesBuffer, from: number, bucketMs: number): SeriesBuffer {
  let i = 0;
  while (i < series.ts.length && (series.ts[i] as number) + bucketMs < from) i++;
  if (i === 0) return series;
  return {
    metric: series.metric,
    ts: series.ts.slice(i),
    avg: series.avg.slice(i),
    min: series.min.slice(i),
    max: series.max.slice(i),
    count: series.count.slice(i),
  };
}

/** Folds points into buckets of `bucketMs` from `origin`, as the hub would have. */
export function rebucket(series: SeriesBuffer, origin: number, bucketMs: number): SeriesBuffer {
  const out = { metric: series.metric, ts: [] as number[], avg: [] as number[], min: [] as number[], max: [] as number[], count: [] as number[] };
  for (let i = 0; i < series.ts.length; i++) {
    const at = origin + Math.floor(((series.ts[i] as number) - origin) / bucketMs) * bucketMs;
    const n = series.count[i] as number;
    const last = out.ts.length - 1;
    if (last >= 0 && out.ts[last] === at) {
      const count = out.count[last] as number;
      out.avg[last] = ((out.avg[last] as number) * count + (series.avg[i] as number) * n) / (count + n);
      out.min[last] = Math.min(out.min[last] as number, series.min[i] as number);
      out.max[last] = Math.max(out.max[last] as number, series.max[i] as number);
      out.count[last] = count + n;
    } else {
      out.ts.push(at);
      out.avg.push(series.avg[i] as number);
      out.min.push(series.min[i] as number);
      out.max.push(series.max[i] as number);
      out.count.push(n);
    }
  }
  return out;
}

/**
 * Extends the history with one live telemetry event. Samples outside the
 * range are ignored (too old, or past the end of a fixed custom range); a
 * relative range slides to end at `now` (or at the sample, if its clock runs
 * ahead) and drops what fell out. Returns the same object when nothing
 * changed.
 */
export function extendHistory(history: HistoryData, ts: number, metrics: Readonly<Record<string, MetricValue>>, now: number): HistoryData {
  const slides = rangeSlides(history.range);
  let { from, to } = history;
  if (slides) {
    const span = to - from;
    to = Math.max(to, now, ts);
    from = to - span;
  }
  if (ts < from || (!slides && ts > to)) return history;
  let bucketMs = history.bucketMs;
  let origin = history.origin;
  const series = new Map(history.series);
  for (const [metric, raw] of Object.entries(metrics)) {
    const value = numericValue(raw);
    if (value === null) continue;
    series.set(metric, addSample(series.get(metric) ?? emptySeries(metric), ts, value, origin, bucketMs));
  }
  // More raw points than the chart has room for: bucket them, as the hub would have.
  if (bucketMs === 0 && [...series.values()].some((s) => s.ts.length > history.maxPoints)) {
    bucketMs = bucketWidth(from, to, history.maxPoints);
    origin = from;
    for (const [metric, s] of series) series.set(metric, rebucket(s, origin, bucketMs));
  }
  if (slides && from !== history.from) {
    for (const [metric, s] of series) series.set(metric, trimBefore(s, from, bucketMs));
  }
  return { ...history, from, to, origin, bucketMs, series };
}

export interface LiveSample {
  ts: number;
  metrics: Readonly<Record<string, MetricValue>>;
}

/**
 * Applies the samples that arrived live while the history was being
 * fetched. A raw point is keyed by its time, so applying one the answer
 * already holds changes nothing. A bucket cannot tell, so only samples after
 * the end of the queried range are added: earlier ones were most likely
 * stored before the query ran, and counting one twice would skew its bucket.
 */
export function catchUp(history: HistoryData, samples: readonly LiveSample[], now: number): HistoryData {
  const queriedTo = history.to;
  let next = history;
  for (const sample of samples) {
    if (history.bucketMs > 0 && sample.ts <= queriedTo) continue;
    next = extendHistory(next, sample.ts, sample.metrics, now);
  }
  return next;
}

/** Slides a relative range to `now` without a sample (the clock ticking); same object when nothing moved. */
export function slideTo(history: HistoryData, now: number): HistoryData {
  if (!rangeSlides(history.range) || now <= history.to) return history;
  const span = history.to - history.from;
  const from = now - span;
  const series = new Map<string, SeriesBuffer>();
  for (const [metric, s] of history.series) series.set(metric, trimBefore(s, from, history.bucketMs));
  return { ...history, from, to: now, series };
}

/** uPlot's columns: time (ms), average, min, max; `null` breaks the line at a gap. */
export type ChartColumns = [number[], Array<number | null>, Array<number | null>, Array<number | null>];

/**
 * The series as chart columns, with a break wherever the readings stopped
 * for a while: longer than five times the usual spacing of the points (and
 * at least two buckets), so a device that was offline shows a gap, not a
 * straight line across it.
 */
export function chartColumns(series: SeriesBuffer, bucketMs: number): ChartColumns {
  const { ts } = series;
  const gaps: number[] = [];
  for (let i = 1; i < ts.length; i++) gaps.push((ts[i] as number) - (ts[i - 1] as number));
  const typical = median(gaps);
  const threshold = typical === null ? Infinity : Math.max(5 * typical, 2 * bucketMs);
  const columns: ChartColumns = [[], [], [], []];
  for (let i = 0; i < ts.length; i++) {
    if (i > 0 && (ts[i] as number) - (ts[i - 1] as number) > threshold) {
      // A null point just after the last reading breaks the line there.
      columns[0].push((ts[i - 1] as number) + 1);
      columns[1].push(null);
      columns[2].push(null);
      columns[3].push(null);
    }
    columns[0].push(ts[i] as number);
    columns[1].push(series.avg[i] as number);
    columns[2].push(series.min[i] as number);
    columns[3].push(series.max[i] as number);
  }
  return columns;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Min, max and average over a whole series, for the chart's caption; null when empty. */
export function seriesSummary(series: SeriesBuffer): { min: number; max: number; avg: number; count: number } | null {
  if (series.ts.length === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < series.ts.length; i++) {
    const n = series.count[i] as number;
    min = Math.min(min, series.min[i] as number);
    max = Math.max(max, series.max[i] as number);
    sum += (series.avg[i] as number) * n;
    count += n;
  }
  return { min, max, avg: count > 0 ? sum / count : NaN, count };
}
