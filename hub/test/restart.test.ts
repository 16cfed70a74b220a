/**
 * Restarts with the same data dir: devices, tokens and history survive;
 * presence is `unknown` until each device is heard from again. A hub killed
 * with SIGKILL loses nothing it acknowledged ([G1]).
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { DeviceView, HistoryResponse } from '@iot-hub/protocol';
import { connectMqtt } from './helpers/clients.js';
import { startTestHub, TEST_ADMIN_TOKEN } from './helpers/hub.js';
import { spawnHub } from './helpers/hub-process.js';

t.test('a restart keeps devices, tokens, capabilities and history; presence is unknown until heard from', async (t) => {
  const first = await startTestHub(t);
  const { id, token } = await first.provision('keeper', 'sensor');
  const never = await first.provision('never-seen');
  const device = await connectMqtt(t, first, id, token);
  await device.publishAsync(`devices/${id}/hello`, JSON.stringify({ kind: 'sensor', metrics: { t: { type: 'number', unit: '°C' }, open: { type: 'boolean' } } }), { qos: 1 });
  await device.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ metrics: { t: 19.25, open: false } }), { qos: 1 });
  await device.endAsync();

  const second = await first.restart();
  const view = (await second.api('GET', `/api/devices/${id}`)).body as DeviceView;
  t.match(view.presence, { status: 'unknown', reason: 'hub-restart', transport: 'mqtt' });
  t.ok(view.lastSeen, 'last seen kept');
  t.equal(view.latest.t?.value, 19.25, 'latest value recovered from the store');
  t.equal(view.latest.open?.value, false, 'boolean metric stays boolean');
  t.equal(view.capabilities?.metrics.t?.unit, '°C');
  t.match(((await second.api('GET', `/api/devices/${never.id}`)).body as DeviceView).presence, { status: 'offline', reason: 'never-connected' });
  const history = (await second.api('GET', `/api/devices/${id}/telemetry?metric=t`)).body as HistoryResponse;
  t.equal(history.series[0]?.points[0]?.avg, 19.25);

  // The token still works after the restart.
  const again = await connectMqtt(t, second, id, token);
  t.equal(((await second.api('GET', `/api/devices/${id}`)).body as DeviceView).presence.status, 'online');
  await again.endAsync();
});

t.test('kill -9 right after the PUBACKs loses no acknowledged telemetry', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'iot-hub-crash-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const setupHub = await startTestHub(t, {}, dataDir);
  const { id, token } = await setupHub.provision('crashy');
  await setupHub.stop();

  const hubProcess = await spawnHub(t, ['--data-dir', dataDir, '--admin-token', TEST_ADMIN_TOKEN]);
  const { child, mqttPort } = hubProcess;

  const client = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, { clientId: id, username: id, password: token, reconnectPeriod: 0 });
  t.teardown(() => client.end(true));
  await new Promise((r) => client.once('connect', r));
  const total = 500;
  await Promise.all(Array.from({ length: total }, (_, seq) => client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ seq, metrics: { n: seq } }), { qos: 1 })));
  // Every PUBACK is in: kill the hub without any chance to flush.
  child.kill('SIGKILL');
  await hubProcess.exited;

  const after = await startTestHub(t, {}, dataDir);
  const history = (await after.api('GET', `/api/devices/${id}/telemetry?maxPoints=10000`)).body as HistoryResponse;
  const values = (history.series[0]?.points ?? []).map((p) => p.avg).sort((a, b) => a - b);
  t.equal(values.length, total, 'every acknowledged reading is stored');
  t.same(values, Array.from({ length: total }, (_, i) => i), 'exactly once each');
});
