/**
 * The hub with --store influx, end to end: /healthz reports the store and
 * its buffer, and a hub killed with SIGKILL right after its PUBACKs loses
 * nothing it acknowledged; after a restart every message is in InfluxDB
 * exactly once (design invariant 1).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import mqtt from 'mqtt';
import type { HealthResponse } from '@iot-hub/protocol';
import { startInfluxd } from '../helpers/influxd.js';
import { startTestHub, TEST_ADMIN_TOKEN } from '../helpers/hub.js';

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

    const main = resolve(import.meta.dirname, '../../dist/main.js');
    // A long flush interval keeps most points in the buffer when the hub dies.
    const args = [main, '--http-port', '0', '--mqtt-port', '0', '--data-dir', dataDir, '--admin-token', TEST_ADMIN_TOKEN, '--store', 'influx', '--influx-url', influxUrl, '--influx-flush-ms', '5000'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => child.kill('SIGKILL'));
    const mqttPort = await new Promise<number>((resolvePort, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg?: string; mqttPort?: number };
        if (entry.msg === 'hub listening' && entry.mqttPort) resolvePort(entry.mqttPort);
      });
      child.once('exit', (code) => reject(new Error(`hub exited early with ${code}`)));
    });

    const client = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, { clientId: id, username: id, password: token, reconnectPeriod: 0 });
    t.teardown(() => client.end(true));
    await new Promise((r) => client.once('connect', r));
    const total = 2000;
    await Promise.all(Array.from({ length: total }, (_, seq) => client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq, metrics: { n: seq } }), { qos: 1 })));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

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
