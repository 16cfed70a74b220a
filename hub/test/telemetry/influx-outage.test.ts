/**
 * Outage (issue 4): devices publish QoS 1 telemetry at a steady rate with a
 * per-device `seq` to the real hub running `--store influx`; influxd is
 * killed (SIGKILL) mid-stream, stays away for 20 s while the devices keep
 * sending, and comes back on the same ports and dirs. After the drain every
 * acknowledged seq is in InfluxDB exactly once, checked with InfluxQL
 * straight against influxd ([G1]).
 */
import t from 'tap';
import type { MqttClient } from 'mqtt';
import type { HealthResponse } from '@iot-hub/protocol';
import { startInfluxd } from '../helpers/influxd.js';
import { startTestHub } from '../helpers/hub.js';
import { connectMqtt, eventually } from '../helpers/clients.js';

const DEVICES = 5;
/** Per device: one message every TICK_MS. */
const TICK_MS = 25;
const OUTAGE_MS = 20_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const influxd = await startInfluxd(t);

if (influxd) {
  t.test('influxd killed for 20 s mid-stream: every acknowledged seq lands exactly once', async (t) => {
    const database = 'outage';
    const hub = await startTestHub(t, { store: 'influx', influxUrl: influxd.urlFor(database), influxFlushMs: 100 });
    const health = async () => (await (await fetch(`${hub.httpUrl}/healthz`)).json()) as HealthResponse;

    const devices: { id: string; client: MqttClient; sent: number; acked: number[]; failed: number }[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const { id, token } = await hub.provision(`steady-${i}`);
      devices.push({ id, client: await connectMqtt(t, hub, id, token), sent: 0, acked: [], failed: 0 });
    }

    // Steady stream: every device sends its next seq each tick, QoS 1, without waiting for the PUBACK.
    let sending = true;
    const inFlight = new Set<Promise<void>>();
    const stream = (async () => {
      for (let seq = 0; sending; seq++) {
        for (const d of devices) {
          d.sent += 1;
          const p = d.client
            .publishAsync(`devices/${d.id}/telemetry`, JSON.stringify({ seq, metrics: { seq } }), { qos: 1 })
            .then(
              () => void d.acked.push(seq),
              () => void (d.failed += 1),
            )
            .finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        await sleep(TICK_MS);
      }
    })();

    await eventually(async () => (await health()).store.buffer?.points === 0 && devices.every((d) => d.acked.length > 20), 10_000, 'first points to land');
    await influxd.kill();
    const outageStart = Date.now();
    const down = await eventually(async () => {
      const h = await health();
      return h.status === 'degraded' && (h.store.buffer?.points ?? 0) > 0 ? h : null;
    }, 10_000, '/healthz to report the store down with points buffered');
    t.match(down.store, { kind: 'influx', ok: false, buffer: { full: false } }, '/healthz: degraded, points wait in the buffer');
    const ackedAtKill = devices.reduce((n, d) => n + d.acked.length, 0);
    await sleep(OUTAGE_MS - (Date.now() - outageStart));
    t.ok(devices.reduce((n, d) => n + d.acked.length, 0) > ackedAtKill + DEVICES * 100, 'devices were acknowledged throughout the outage');

    await influxd.restart();
    await sleep(2000);
    sending = false;
    await stream;
    await Promise.all(inFlight);

    // Drain: the buffer empties once the drainer's backoff lets it retry (at most ~15 s).
    await eventually(async () => {
      const h = await health();
      return h.status === 'ok' && h.store.buffer?.points === 0;
    }, 40_000, 'the buffer to drain into InfluxDB');

    for (const d of devices) {
      t.equal(d.failed, 0, `${d.id}: no publish failed`);
      t.equal(d.acked.length, d.sent, `${d.id}: every sent seq was acknowledged`);
      const res = await influxd.query(`SELECT "value" FROM "raw"."telemetry" WHERE "device" = '${d.id}' AND "metric" = 'seq'`, database);
      const stored = (res.results[0]?.series?.[0]?.values ?? []).map((row) => Number(row[1]));
      const sortedStored = [...stored].sort((a, b) => a - b);
      const sortedAcked = [...d.acked].sort((a, b) => a - b);
      t.equal(stored.length, d.acked.length, `${d.id}: as many points as acknowledged seqs (${d.acked.length})`);
      t.same(sortedStored, sortedAcked, `${d.id}: every acknowledged seq exactly once`);
      t.equal(new Set(stored).size, stored.length, `${d.id}: no seq twice`);
    }
    const after = await health();
    t.equal(after.store.deadLettered, 0, 'nothing dead-lettered');
    const total = devices.reduce((n, d) => n + d.acked.length, 0);
    t.ok((after.store.delivered ?? 0) >= total, '/healthz counts the points delivered (a retried batch counts again)');
    t.ok((after.store.writeRequests ?? 0) > 0, '/healthz counts the write requests, retries included');
  });
}
