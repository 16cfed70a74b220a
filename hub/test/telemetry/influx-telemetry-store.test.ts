/**
 * The store contract against a real influxd, for the InfluxDB store on its
 * own (write() straight to InfluxDB). The buffered store that the hub puts in
 * front of it has its own tests (influx-buffered-store.test.ts).
 */
import t from 'tap';
import pino from 'pino';
import { InfluxTelemetryStore } from '../../src/telemetry/influx/influx-telemetry-store.js';
import { startInfluxd } from '../helpers/influxd.js';
import { runStoreContract } from './store-contract.js';

const influxd = await startInfluxd(t);
if (influxd) {
  let n = 0;
  const log = pino({ level: 'silent' });
  // The contract writes at a fixed date months back: keep raw data forever here.
  const open = async () => {
    const store = new InfluxTelemetryStore({ url: influxd.urlFor(`contract_${++n}`), rawRetention: 'INF', rollupRetention: 'INF', log });
    await store.open();
    return store;
  };
  runStoreContract(t, 'influx', open);

  t.test('influx: schema setup is idempotent and the raw policy is the default', async (t) => {
    const first = await open();
    const again = new InfluxTelemetryStore({ url: influxd.urlFor(first.database), rawRetention: '30d', rollupRetention: 'INF', log });
    await again.open();
    await again.ensureSchema();
    const rps = await influxd.query(`SHOW RETENTION POLICIES ON "${first.database}"`);
    const rows = rps.results[0]?.series?.[0]?.values ?? [];
    t.match(rows.find((r) => r[0] === 'raw'), ['raw', '720h0m0s', String, 1, true]);
    t.match(rows.find((r) => r[0] === 'rollup_1m'), ['rollup_1m', '0s', String, 1, false]);
    const cqs = await influxd.query('SHOW CONTINUOUS QUERIES');
    const ours = cqs.results[0]?.series?.find((s) => s.name === first.database)?.values ?? [];
    t.same(ours.map((r) => r[0]), ['telemetry_rollup_1m']);
  });

  t.test('influx: schema as documented: measurement telemetry, tags device and metric, float field value, ms timestamps', async (t) => {
    const store = await open();
    await store.write([{ deviceId: 'kitchen', metric: 'temperature', ts: 1_780_000_000_123, value: 21 }]);
    const res = await influxd.query('SELECT "value", "device", "metric" FROM "raw"."telemetry"', store.database);
    t.same(res.results[0]?.series?.[0]?.values, [[1_780_000_000_123, 21, 'kitchen', 'temperature']]);
    const fields = await influxd.query('SHOW FIELD KEYS FROM "telemetry"', store.database);
    t.same(fields.results[0]?.series?.[0]?.values, [['value', 'float']], 'an integral value is still a float');
  });

  t.test('influx: the part of a range older than the raw retention is read from the 1-minute rollup', async (t) => {
    const store = new InfluxTelemetryStore({ url: influxd.urlFor(`contract_${++n}`), rawRetention: '1h', rollupRetention: 'INF', log });
    await store.open();
    const now = Date.now();
    const oldMinute = Math.floor((now - 3 * 3_600_000) / 60_000) * 60_000;
    // Raw data of three hours ago is gone; its rollup row stays.
    const old = await influxd.write(store.database, `telemetry,device=d,metric=m count=6i,max=100,mean=5,min=-100,sum=30 ${oldMinute}`, 'rollup_1m');
    t.equal(old.status, 204);
    const recent = Array.from({ length: 30 }, (_, i) => ({ deviceId: 'd', metric: 'm', ts: now - 30 * 60_000 + i * 60_000, value: i }));
    await store.write(recent);
    await store.rollUp(now - 40 * 60_000, now);
    const result = await store.history({ deviceId: 'd', metrics: ['m'], from: oldMinute - 7, to: now, maxPoints: 1000 });
    t.equal(result.bucketMs, Math.ceil((now - oldMinute + 8) / 1000));
    const points = result.series[0]?.points ?? [];
    t.same(points[0], { ts: oldMinute - 7, avg: 5, min: -100, max: 100, count: 6 }, 'old bucket from the rollup, starting at from');
    t.equal(points.reduce((n, p) => n + p.count, 0), 36, 'each sample counted once across rollup and raw');
    t.same(points.slice(1).map((p) => p.avg), recent.map((p) => p.value), 'recent buckets from raw data');
    const rolled = await influxd.query(`SELECT sum("count") FROM "rollup_1m"."telemetry" WHERE time >= ${now - 40 * 60_000}ms`, store.database);
    t.equal(rolled.results[0]?.series?.[0]?.values[0]?.[1], 30, 'rollUp() backfills the rollup from raw');
  });
}
