/**
 * With InfluxDB, nothing a device sends may be acknowledged and then refused
 * by InfluxDB (dead-lettered): acknowledged data lost (issue 18, items 2 and
 * 3). Readings older than the raw retention are refused up front with
 * bad_timestamp [FP-4.2]; a device inventing metric names is stopped by the
 * per-device limit while other devices' readings all land. Real influxd.
 */
import t, { type Test } from 'tap';
import type { HealthResponse } from '@iot-hub/protocol';
import { deviceSocket, eventually, type JsonSocket } from '../../helpers/clients.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { startInfluxd, type Influxd } from '../../helpers/influxd.js';

const DAY = 24 * 3_600_000;
const influxd = await startInfluxd(t);

async function connect(t: Test, hub: TestHub, id: string): Promise<JsonSocket> {
  const { token } = await hub.provision(id);
  const ws = await deviceSocket(t, hub, id, token);
  await ws.next((f) => f.type === 'welcome');
  return ws;
}

async function send(ws: JsonSocket, frame: Record<string, unknown>): Promise<Record<string, unknown>> {
  ws.send(frame);
  return ws.next((f) => (f.type === 'ack' && f.mid === frame.mid) || (f.type === 'error' && f.ref === frame.mid));
}

/** Waits until the buffer drained, then returns /healthz's store. */
async function drained(hub: TestHub): Promise<HealthResponse['store']> {
  return eventually(async () => {
    const health = (await (await fetch(`${hub.httpUrl}/healthz`)).json()) as HealthResponse;
    return health.store.buffer?.points === 0 ? health.store : null;
  }, 10_000, 'the buffer to drain');
}

async function stored(server: Influxd, database: string, device: string): Promise<number> {
  const res = await server.query(`SELECT count("value") FROM "raw"."telemetry" WHERE "device" = '${device}'`, database);
  return Number(res.results[0]?.series?.[0]?.values[0]?.[1] ?? 0);
}

if (influxd) {
  t.test('readings older than the raw retention are refused before the ack, not dead-lettered after it', async (t) => {
    const database = 'retention_attack';
    const hub = await startTestHub(t, { store: 'influx', influxUrl: influxd.urlFor(database), influxRawRetention: '30d', influxFlushMs: 20 });
    const ws = await connect(t, hub, 'old-readings');
    const now = Date.now();
    for (const [mid, days] of [['d40', 40], ['d200', 200]] as const) {
      const reply = await send(ws, { type: 'telemetry', mid, ts: now - days * DAY, metrics: { t: 1 } });
      t.match(
        reply,
        { type: 'error', code: 400, error: 'bad_timestamp', ref: mid, message: /behind the hub clock by \d+ ms; the store keeps raw readings for 30d \(--influx-raw-retention\), so the hub takes none older than 2588400000 ms$/ },
        `a reading ${days} days old is refused, naming the retention`,
      );
    }
    const batch = { type: 'telemetry', mid: 'batch', samples: [{ ts: now - 1000, metrics: { t: 2 } }, { ts: now - 31 * DAY, metrics: { t: 3 } }] };
    t.match(await send(ws, batch), { error: 'bad_timestamp', ref: 'batch' }, 'one old sample refuses its whole batch');
    // Within the retention, and odd but valid numbers: taken, and InfluxDB takes them too.
    const values = [['d29', now - 29 * DAY, 1], ['big', now - 2000, 1e308], ['tiny', now - 3000, -5e-324], ['zero', now - 4000, -0]] as const;
    for (const [mid, ts, value] of values) t.match(await send(ws, { type: 'telemetry', mid, ts, metrics: { t: value } }), { type: 'ack' }, `${mid} acknowledged`);
    const store = await drained(hub);
    t.equal(store.deadLettered, 0, 'nothing acknowledged was dead-lettered');
    t.equal(await stored(influxd, database, 'old-readings'), values.length, 'every acknowledged reading is in InfluxDB');
  });

  t.test('a device at its limit of metric names costs no other device a reading (InfluxDB)', async (t) => {
    const database = 'names_attack';
    const hub = await startTestHub(t, { store: 'influx', influxUrl: influxd.urlFor(database), influxFlushMs: 20, maxMetricsPerDevice: 64 });
    const noisy = await connect(t, hub, 'noisy');
    const quiet = await connect(t, hub, 'quiet');
    let refused = 0;
    // 12 messages of 16 new names: 4 fit, 8 are refused (under the 10 errors that end a connection).
    for (let i = 0; i < 12; i++) {
      const metrics = Object.fromEntries(Array.from({ length: 16 }, (_, j) => [`n${i * 16 + j}`, j]));
      const reply = await send(noisy, { type: 'telemetry', mid: i, metrics });
      if (reply.error === 'too_many_metrics') refused += 1;
      t.match(await send(quiet, { type: 'telemetry', mid: i, seq: i, metrics: { temperature: i } }), { type: 'ack' });
    }
    t.equal(refused, 8, 'everything past the first 64 names was refused');
    const store = await drained(hub);
    t.equal(store.deadLettered, 0, 'nothing dead-lettered');
    t.equal(await stored(influxd, database, 'quiet'), 12, 'every reading of the other device is in InfluxDB');
    t.equal(await stored(influxd, database, 'noisy'), 64, 'the noisy device kept its 64 names');
  });
}
