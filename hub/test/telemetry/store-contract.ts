/**
 * The contract every TelemetryStore must keep. Each implementation's test
 * calls runStoreContract with a factory; the InfluxDB store will run the
 * same suite against a real influxd.
 */
import type { Test } from 'tap';
import type { TelemetryPoint, TelemetryStore } from '../../src/telemetry/telemetry-store.js';

export type StoreFactory = (t: Test) => Promise<TelemetryStore>;

const T0 = Date.UTC(2026, 5, 1);

function points(deviceId: string, metric: string, values: number[], stepMs = 1000, start = T0): TelemetryPoint[] {
  return values.map((value, i) => ({ deviceId, metric, ts: start + i * stepMs, value }));
}

export function runStoreContract(t: Test, name: string, open: StoreFactory): void {
  t.test(`${name}: written points read back raw within maxPoints`, async (t) => {
    const store = await open(t);
    await store.write(points('d1', 'temp', [1, 2, 3]));
    const result = await store.history({ deviceId: 'd1', metrics: ['temp'], from: T0, to: T0 + 10_000, maxPoints: 100 });
    t.equal(result.bucketMs, 0);
    t.same(result.series, [{ metric: 'temp', points: [1, 2, 3].map((v, i) => ({ ts: T0 + i * 1000, avg: v, min: v, max: v, count: 1 })) }]);
  });

  t.test(`${name}: the range is inclusive and other devices and metrics are not mixed in`, async (t) => {
    const store = await open(t);
    await store.write([...points('d1', 'temp', [1, 2, 3, 4]), ...points('d1', 'hum', [50, 51]), ...points('d2', 'temp', [99, 99])]);
    const result = await store.history({ deviceId: 'd1', metrics: ['temp'], from: T0 + 1000, to: T0 + 2000, maxPoints: 100 });
    t.same(result.series[0]?.points.map((p) => p.avg), [2, 3]);
    const all = await store.history({ deviceId: 'd1', metrics: null, from: T0, to: T0 + 10_000, maxPoints: 100 });
    t.same(all.series.map((s) => [s.metric, s.points.length]).sort(), [['hum', 2], ['temp', 4]]);
    const none = await store.history({ deviceId: 'nobody', metrics: null, from: T0, to: T0 + 10_000, maxPoints: 100 });
    t.same(none.series, []);
  });

  t.test(`${name}: above maxPoints the store downsamples to buckets starting at from with min/max/avg/count`, async (t) => {
    const store = await open(t);
    await store.write(points('d1', 'temp', Array.from({ length: 60 }, (_, i) => i)));
    const result = await store.history({ deviceId: 'd1', metrics: ['temp'], from: T0, to: T0 + 59_999, maxPoints: 6 });
    t.equal(result.bucketMs, 10_000);
    const series = result.series[0]?.points ?? [];
    t.equal(series.length, 6);
    t.same(series[0], { ts: T0, avg: 4.5, min: 0, max: 9, count: 10 });
    t.same(series[5], { ts: T0 + 50_000, avg: 54.5, min: 50, max: 59, count: 10 });
    t.equal(series.reduce((n, p) => n + p.count, 0), 60, 'no sample lost in bucketing');
    const shifted = await store.history({ deviceId: 'd1', metrics: ['temp'], from: T0 + 3, to: T0 + 59_999, maxPoints: 6 });
    t.ok((shifted.series[0]?.points.length ?? 0) <= 6, 'never more than maxPoints buckets');
    t.equal(shifted.series[0]?.points[0]?.ts, T0 + 3, 'the first bucket starts at from');
  });

  t.test(`${name}: same device, metric and ts overwrites (retries are idempotent)`, async (t) => {
    const store = await open(t);
    await store.write(points('d1', 'temp', [1]));
    await store.write(points('d1', 'temp', [7]));
    const result = await store.history({ deviceId: 'd1', metrics: ['temp'], from: T0, to: T0, maxPoints: 10 });
    t.same(result.series[0]?.points.map((p) => p.avg), [7]);
  });

  t.test(`${name}: latest gives the newest value of each metric`, async (t) => {
    const store = await open(t);
    await store.write([...points('d1', 'temp', [1, 2, 3]), ...points('d1', 'on', [1, 0])]);
    t.same(await store.latest('d1'), { temp: { ts: T0 + 2000, value: 3 }, on: { ts: T0 + 1000, value: 0 } });
    t.same(await store.latest('nobody'), {});
  });

  t.test(`${name}: latestOfAll, where offered, gives every device's newest values in one read`, async (t) => {
    const store = await open(t);
    if (!store.latestOfAll) return t.pass('not offered by this store');
    await store.write([...points('d1', 'temp', [1, 2, 3]), ...points('d1', 'on', [1, 0]), ...points('d2', 'temp', [9])]);
    const all = await store.latestOfAll();
    t.same([...all.keys()].sort(), ['d1', 'd2']);
    t.same(all.get('d1'), { temp: { ts: T0 + 2000, value: 3 }, on: { ts: T0 + 1000, value: 0 } });
    t.same(all.get('d2'), { temp: { ts: T0, value: 9 } });
    t.same(await store.latest('d1'), all.get('d1'), 'the same as latest() per device');
  });

  t.test(`${name}: deleteDevice removes that device only`, async (t) => {
    const store = await open(t);
    await store.write([...points('d1', 'temp', [1]), ...points('d2', 'temp', [2])]);
    await store.deleteDevice('d1');
    t.same(await store.latest('d1'), {});
    t.same(await store.latest('d2'), { temp: { ts: T0, value: 2 } });
  });

  t.test(`${name}: a large batch is written whole`, async (t) => {
    const store = await open(t);
    const many = Array.from({ length: 20 }, (_, d) => points(`dev-${d}`, 'v', Array.from({ length: 500 }, (_, i) => i), 10)).flat();
    await store.write(many);
    const one = await store.history({ deviceId: 'dev-7', metrics: ['v'], from: T0, to: T0 + 5000, maxPoints: 1 });
    t.equal(one.series[0]?.points[0]?.count, 500);
  });
}
