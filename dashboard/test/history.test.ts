/**
 * History for the charts: filled from the hub's downsampled answer, then
 * extended live, merging into the hub's buckets, sliding the window and
 * folding raw points into buckets when they outgrow the chart.
 */
import t from 'tap';
import type { HistoryResponse } from '@iot-hub/protocol';
import {
  addSample,
  bucketWidth,
  catchUp,
  chartColumns,
  extendHistory,
  historyFromResponse,
  rangeBounds,
  rangeIsLive,
  rebucket,
  sameRange,
  seriesSummary,
  slideTo,
  trimBefore,
  type HistoryRange,
  type SeriesBuffer,
} from '../src/data/history.js';

const T0 = 1_750_000_000_000;
const HOUR = 3_600_000;
const ONE_HOUR: HistoryRange = { kind: 'relative', key: '1h' };

function series(metric: string, points: Array<[ts: number, avg: number, min?: number, max?: number, count?: number]>): SeriesBuffer {
  return {
    metric,
    ts: points.map((p) => p[0]),
    avg: points.map((p) => p[1]),
    min: points.map((p) => p[2] ?? p[1]),
    max: points.map((p) => p[3] ?? p[1]),
    count: points.map((p) => p[4] ?? 1),
  };
}

function response(overrides: Partial<HistoryResponse> = {}): HistoryResponse {
  return {
    deviceId: 'th-1',
    from: T0 - HOUR,
    to: T0,
    bucketMs: 0,
    series: [
      {
        metric: 'temperature',
        points: [
          { ts: T0 - 30_000, avg: 21, min: 21, max: 21, count: 1 },
          { ts: T0 - 20_000, avg: 21.5, min: 21.5, max: 21.5, count: 1 },
        ],
      },
    ],
    ...overrides,
  };
}

t.test('ranges: bounds, liveness, equality', async (t) => {
  t.strictSame(rangeBounds(ONE_HOUR, T0), { from: T0 - HOUR, to: T0 });
  t.strictSame(rangeBounds({ kind: 'relative', key: '7d' }, T0), { from: T0 - 7 * 24 * HOUR, to: T0 });
  t.strictSame(rangeBounds({ kind: 'custom', from: 5, to: 9 }, T0), { from: 5, to: 9 });
  t.ok(rangeIsLive(ONE_HOUR, T0));
  t.ok(rangeIsLive({ kind: 'custom', from: 0, to: T0 + 1 }, T0), 'a custom range reaching now is live');
  t.notOk(rangeIsLive({ kind: 'custom', from: 0, to: T0 - 1 }, T0), 'one in the past is not');
  t.ok(sameRange(ONE_HOUR, { kind: 'relative', key: '1h' }));
  t.notOk(sameRange(ONE_HOUR, { kind: 'relative', key: '24h' }));
  t.notOk(sameRange(ONE_HOUR, { kind: 'custom', from: 0, to: 1 }));
  t.ok(sameRange({ kind: 'custom', from: 0, to: 1 }, { kind: 'custom', from: 0, to: 1 }));
  t.equal(bucketWidth(0, 999, 100), 10, 'the hub formula: ceil((to - from + 1) / maxPoints)');
});

t.test('the hub answer becomes columns per metric', async (t) => {
  const history = historyFromResponse(ONE_HOUR, response(), 500);
  t.equal(history.from, T0 - HOUR);
  t.equal(history.origin, T0 - HOUR, 'buckets are aligned where the hub aligned them');
  t.strictSame(history.series.get('temperature'), series('temperature', [[T0 - 30_000, 21], [T0 - 20_000, 21.5]]));
});

t.test('raw mode: a live sample is a point of its own; a resend replaces, a late one is inserted in order', async (t) => {
  let s = series('x', [[100, 1], [200, 2]]);
  s = addSample(s, 300, 3, 0, 0);
  t.strictSame(s.ts, [100, 200, 300]);
  s = addSample(s, 200, 5, 0, 0);
  t.strictSame(s.avg, [1, 5, 3], 'same time: replaced');
  s = addSample(s, 150, 7, 0, 0);
  t.strictSame(s.ts, [100, 150, 200, 300]);
  t.strictSame(s.avg, [1, 7, 5, 3]);
});

t.test('bucket mode: live samples merge into the hub bucket they fall in', async (t) => {
  // Buckets of 10 from origin 5: [5,15) [15,25) ...
  const s0 = series('x', [[5, 10, 8, 12, 2], [15, 20, 20, 20, 1]]);
  const s1 = addSample(s0, 24, 26, 5, 10);
  t.strictSame(s1.ts, [5, 15]);
  t.equal(s1.avg[1], 23, 'average weighted by count: (20·1 + 26) / 2');
  t.equal(s1.min[1], 20);
  t.equal(s1.max[1], 26);
  t.equal(s1.count[1], 2);
  const s2 = addSample(s1, 11, 2, 5, 10);
  t.strictSame([s2.avg[0], s2.min[0], s2.max[0], s2.count[0]], [(10 * 2 + 2) / 3, 2, 12, 3], 'a late sample merges into its older bucket');
  const s3 = addSample(s2, 25, 1, 5, 10);
  t.strictSame(s3.ts, [5, 15, 25], 'a new bucket starts at the grid line');
  t.strictSame(s0.ts, [5, 15], 'inputs are never changed');
  t.equal(s0.count[1], 1);
});

t.test('a relative range slides with live samples and drops what fell out', async (t) => {
  const history = historyFromResponse(ONE_HOUR, response(), 500);
  const before = history.series.get('temperature');
  // 25 minutes later a sample arrives; the oldest points are 40+ min old, still inside.
  let next = extendHistory(history, T0 + 25 * 60_000, { temperature: 22, heating: true }, T0 + 25 * 60_000);
  t.equal(next.to, T0 + 25 * 60_000);
  t.equal(next.from, T0 + 25 * 60_000 - HOUR);
  t.strictSame(next.series.get('temperature')!.avg, [21, 21.5, 22]);
  t.strictSame(next.series.get('heating')!.avg, [1], 'a metric first seen live gets a series; booleans count as 1/0');
  t.equal(history.series.get('temperature'), before, 'the old history is untouched');

  // An hour after that, only the new point is left.
  next = extendHistory(next, T0 + 85 * 60_000, { temperature: 23 }, T0 + 85 * 60_000);
  t.strictSame(next.series.get('temperature')!.ts, [T0 + 25 * 60_000, T0 + 85 * 60_000]);
  t.strictSame(next.series.get('heating')!.ts, [T0 + 25 * 60_000]);

  // A sample from before the window (a device flushing an old buffer) changes nothing.
  t.equal(extendHistory(next, T0, { temperature: 1 }, T0 + 85 * 60_000), next);
});

t.test('a fixed custom range takes only samples inside it', async (t) => {
  const custom: HistoryRange = { kind: 'custom', from: T0 - HOUR, to: T0 + HOUR };
  const history = historyFromResponse(custom, response({ to: T0 + HOUR }), 500);
  const inside = extendHistory(history, T0 + 10, { temperature: 30 }, T0 + 10);
  t.strictSame(inside.series.get('temperature')!.avg, [21, 21.5, 30]);
  t.equal(inside.from, T0 - HOUR, 'it does not slide');
  t.equal(extendHistory(inside, T0 + 2 * HOUR, { temperature: 1 }, T0 + 2 * HOUR), inside, 'past its end: ignored');
});

t.test('raw points outgrowing the chart are folded into buckets, as the hub would have', async (t) => {
  let history = historyFromResponse(ONE_HOUR, response({ series: [{ metric: 'p', points: [] }] }), 4);
  for (let i = 0; i < 5; i++) history = extendHistory(history, T0 + i, { p: i }, T0);
  t.ok(history.bucketMs > 0, 'now bucketed');
  t.equal(history.bucketMs, bucketWidth(T0 - HOUR, T0, 4));
  const p = history.series.get('p')!;
  t.ok(p.ts.length <= 4);
  t.equal(p.count.reduce((a, b) => a + b, 0), 5, 'no sample lost');
  t.equal(seriesSummary(p)!.avg, 2);
  t.equal(seriesSummary(p)!.max, 4);
});

t.test('rebucket and trimBefore', async (t) => {
  const raw = series('x', [[0, 1], [4, 3], [10, 5], [19, 7], [20, 9]]);
  const b = rebucket(raw, 0, 10);
  t.strictSame(b.ts, [0, 10, 20]);
  t.strictSame(b.avg, [2, 6, 9]);
  t.strictSame(b.min, [1, 5, 9]);
  t.strictSame(b.count, [2, 2, 1]);
  t.strictSame(trimBefore(b, 15, 10).ts, [10, 20], 'a bucket reaching into the window stays');
  t.strictSame(trimBefore(b, 21, 10).ts, [20]);
  t.equal(trimBefore(b, 0, 10), b, 'nothing to drop: same object');
});

t.test('samples that arrived during the fetch: raw ones are applied, bucketed ones only after the queried range', async (t) => {
  const raw = historyFromResponse(ONE_HOUR, response(), 500);
  const rawNext = catchUp(raw, [{ ts: T0 - 20_000, metrics: { temperature: 21.5 } }, { ts: T0 + 5, metrics: { temperature: 22 } }], T0 + 5);
  t.strictSame(rawNext.series.get('temperature')!.avg, [21, 21.5, 22], 'the repeat of a raw point is harmless');

  const bucketed = historyFromResponse(
    ONE_HOUR,
    response({ bucketMs: 60_000, series: [{ metric: 'temperature', points: [{ ts: T0 - 60_000, avg: 20, min: 19, max: 21, count: 12 }] }] }),
    60,
  );
  const next = catchUp(bucketed, [{ ts: T0 - 1, metrics: { temperature: 50 } }, { ts: T0 + 1, metrics: { temperature: 22 } }], T0 + 1);
  const temperature = next.series.get('temperature')!;
  t.equal(temperature.count[0], 12, 'the sample inside the queried range is taken as already counted');
  t.strictSame(temperature.ts, [T0 - 60_000, T0], 'the later one starts the next bucket');
});

t.test('slideTo moves a relative window with the clock', async (t) => {
  const history = historyFromResponse(ONE_HOUR, response(), 500);
  t.equal(slideTo(history, T0 - 5), history, 'not past the end: unchanged');
  const later = slideTo(history, T0 + HOUR - 25_000);
  t.strictSame(later.series.get('temperature')!.ts, [T0 - 20_000]);
  const custom = historyFromResponse({ kind: 'custom', from: 0, to: T0 }, response(), 500);
  t.equal(slideTo(custom, T0 + HOUR), custom, 'a custom range does not slide');
});

t.test('chart columns break the line where readings stopped', async (t) => {
  const s = series('x', [[0, 1, 0, 2], [10, 2], [20, 3], [30, 4], [500, 5], [510, 6]]);
  const [ts, avg, min, max] = chartColumns(s, 0);
  t.strictSame(ts, [0, 10, 20, 30, 31, 500, 510]);
  t.strictSame(avg, [1, 2, 3, 4, null, 5, 6]);
  t.strictSame(min, [0, 2, 3, 4, null, 5, 6]);
  t.strictSame(max, [2, 2, 3, 4, null, 5, 6]);
  t.strictSame(chartColumns(series('x', [[0, 1], [100, 2]]), 0)[1], [1, 2], 'two points: no gap to judge by');
  t.strictSame(chartColumns(series('x', []), 0), [[], [], [], []]);
  t.equal(seriesSummary(series('x', [])), null);
});
