/**
 * Both transports against the real hub: acknowledged means stored, hello
 * sets capabilities, wrong credentials are fatal, hub errors reach the
 * sender, and a device reconnects with backoff when the hub comes back.
 */
import t from 'tap';
import type { DeviceView, HistoryResponse } from '@iot-hub/protocol';
import { startTestHub, type TestHub } from '../../hub/test/helpers/hub.js';
import { eventually } from '../../hub/test/helpers/clients.js';
import { ClimateSensor } from '../src/models/index.js';
import type { DeviceConnection } from '../src/transports/connection.js';
import { DeviceSimError } from '../src/transports/errors.js';
import { MqttDevice } from '../src/transports/mqtt-device.js';
import { WsDevice, deviceWsUrl } from '../src/transports/ws-device.js';
import { freePort } from './helpers/ports.js';

type Make = (hub: TestHub, id: string, token: string) => DeviceConnection;

const transports: [string, Make][] = [
  ['mqtt', (hub, id, token) => new MqttDevice({ url: hub.mqttUrl, id, token, backoff: { initialMs: 100, maxMs: 400 } })],
  ['ws', (hub, id, token) => new WsDevice({ url: deviceWsUrl(hub.httpUrl), id, token, backoff: { initialMs: 100, maxMs: 400 } })],
];

async function storedCount(hub: TestHub, id: string, metric: string): Promise<number> {
  const res = await hub.api('GET', `/api/devices/${id}/telemetry?metric=${metric}&from=0`);
  const history = res.body as HistoryResponse;
  return history.series.flatMap((s) => s.points).reduce((n, p) => n + p.count, 0);
}

for (const [name, make] of transports) {
  t.test(`${name}: hello, then telemetry that is stored when the send resolves`, async (t) => {
    const hub = await startTestHub(t);
    const { id, token } = await hub.provision(`${name}-dev`, 'climate-sensor');
    const device = make(hub, id, token);
    t.teardown(() => device.close());
    await device.connect();
    t.equal(device.connected, true);
    t.equal(device.transport, name);

    const model = new ClimateSensor({ seed: 1 });
    await device.sendHello(model.hello());
    const now = Date.now();
    t.equal(await device.sendTelemetry({ metrics: { temperature: 21.5, humidity: 40 }, ts: now - 1000 }), 0, 'first seq is 0');
    t.equal(await device.sendTelemetry({ metrics: { temperature: 21.7, humidity: 41 }, ts: now }), 1, 'seq counts up');
    await device.sendState(model.state());
    t.equal(await storedCount(hub, id, 'temperature'), 2, 'both samples stored once acknowledged');

    const view = (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
    t.equal(view.latest.temperature?.value, 21.7);
    t.same(view.capabilities?.metrics, model.hello().metrics);
    t.match(view.presence, { status: 'online', transport: name });

    await device.close();
    t.equal(device.connected, false);
    await t.rejects(device.sendTelemetry({ metrics: { temperature: 1 } }), { code: 'not_connected' });
    const after = await eventually(async () => {
      const v = (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
      return v.presence.status === 'offline' ? v : null;
    }, 5000, 'offline after close');
    t.equal(after.presence.status, 'offline');
  });

  t.test(`${name}: a wrong token is refused as unauthorized (no retry)`, async (t) => {
    const hub = await startTestHub(t);
    const { id } = await hub.provision(`${name}-bad`, 'climate-sensor');
    const device = make(hub, id, 'not-the-token');
    const err = await device.connect().then(
      () => null,
      (e: unknown) => e,
    );
    t.type(err, DeviceSimError);
    t.equal((err as DeviceSimError).code, 'unauthorized');
    t.equal((err as DeviceSimError).fatal, true);
    await device.close();
  });

  t.test(`${name}: reconnects with backoff when the hub comes back, and sends again`, async (t) => {
    const ports = { httpPort: await freePort(), mqttPort: await freePort() };
    const hub = await startTestHub(t, ports);
    const { id, token } = await hub.provision(`${name}-re`, 'climate-sensor');
    const device = make(hub, id, token);
    t.teardown(() => device.close());
    const connects: number[] = [];
    const drops: string[] = [];
    device.on('connected', () => connects.push(Date.now()));
    device.on('disconnected', (reason) => drops.push(reason));
    await device.connect();
    await device.sendTelemetry({ metrics: { temperature: 20 } });

    const again = await hub.restart();
    await eventually(() => drops.length === 1 && connects.length === 2, 10_000, 'reconnect');
    t.equal(device.connected, true);
    t.equal(await device.sendTelemetry({ metrics: { temperature: 22 } }), 1, 'seq continues across reconnects');
    t.equal(await storedCount(again, id, 'temperature'), 2);
  });
}

t.test('ws: an error answering a message rejects that send with the hub error', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('ws-err', 'climate-sensor');
  const device = new WsDevice({ url: deviceWsUrl(hub.httpUrl), id, token });
  t.teardown(() => device.close());
  await device.connect();
  // A day ahead of the hub clock is outside the accepted window [FP-4.2].
  const err = await device.sendTelemetry({ metrics: { temperature: 1 }, ts: Date.now() + 24 * 3600_000 }).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(err, DeviceSimError);
  t.equal((err as DeviceSimError).code, 'hub_error');
  t.equal((err as DeviceSimError).hubError?.error, 'bad_timestamp');
  t.equal(device.connected, true, 'the device carries on');
  await device.sendTelemetry({ metrics: { temperature: 2 } });
});
