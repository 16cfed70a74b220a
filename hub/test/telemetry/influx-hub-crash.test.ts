/**
 * The hub with --store influx, end to end: /healthz reports the store and
 * its buffer, and a hub killed with SIGKILL right after its PUBACKs loses
 * nothing it acknowledged; after a restart every message is in InfluxDB
 * exactly once ([G1]).
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { HealthResponse } from '@iot-hub/protocol';
import { startInfluxd } from '../helpers/influxd.js';
import { startTestHub, TEST_ADMIN_TOKEN } from '../helpers/hub.js';
import { spawnHub } from '../helpers/hub-process.js';

const influxd = await startInfluxd(t);

if (influxd) {
  t.test('healthz shows the InfluxDB store and its buffer; a hub starts while InfluxDB is down', async (t) => {
    const hub = await startTestHub(t, { store: 'influx', influxUrl: 'http://127.0.0.1:1/telemetry' });
    const health = (await (await fetch(`${hub.httpUrl}/healthz`)).json()) as HealthResponse;
    t.match(health.store, { kind: 'influx', buffer: { points: 0, full: false }, deadLettered: 0 });
    const { id, token } = await hub.provision('early');
    const device = mqtt.connect(hub.mqttUrl, { clientId: id, username: id, password: token, reconnectPeriod: 0 });
    t.teardown(() => device.end(true));
    await new Promise((r) => device.once('connect', r));
    await device.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ metrics: { t: 1 } }), { qos: 1 });
    const down = (await (await fetch(`${hub.httpUrl}/healthz`)).json()) as HealthResponse;
    t.match(down, { status: 'degraded', store: { kind: 'influx', ok: false, buffer: { points: 1 } } }, 'acknowledged and buffered while InfluxDB is unreachable');
  });

  t.test('kill -9 right after the PUBACKs: every acknowledged message reaches InfluxDB exactly once', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'iot-hub-influx-crash-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const influxUrl = influxd.urlFor('crash');
    const setupHub = await startTestHub(t, { store: 'influx', influxUrl }, dataDir);
    const { id, token } = await setupHub.provision('crashy');
    await setupHub.stop();

    // A long flush interval keeps most points in the buffer when the hub dies.
    const hubProcess = await spawnHub(t, ['--data-dir', dataDir, '--admin-token', TEST_ADMIN_TOKEN, '--store', 'influx', '--influx-url', influxUrl, '--influx-flush-ms', '5000']);
    const { child, mqttPort } = hubProcess;

    const client = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, { clientId: id, username: id, password: token, reconnectPeriod: 0 });
    t.teardown(() => client.end(true));
    await new Promise((r) => client.once('connect', r));
    const total = 2000;
    await Promise.all(Array.from({ length: total }, (_, seq) => client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq, metrics: { n: seq } }), { qos: 1 })));
    child.kill('SIGKILL');
    await hubProcess.exited;

    const after = await startTestHub(t, { store: 'influx', influxUrl, influxFlushMs: 20 }, dataDir);
    const deadline = Date.now() + 30_000;
    let values: number[] = [];
    while (Date.now() < deadline) {
      const res = await influxd.query(`SELECT "value" FROM "raw"."telemetry" WHERE "device" = '${id}'`, 'crash');
      values = (res.results[0]?.series?.[0]?.values ?? []).map((r) => Number(r[1]));
      const health = (await (await fetch(`${after.httpUrl}/healthz`)).json()) as HealthResponse;
      if (values.length >= total && health.store.buffer?.points === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.equal(values.length, total, 'every acknowledged reading is in InfluxDB');
    t.same([...values].sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i), 'exactly once each');
  });
}
