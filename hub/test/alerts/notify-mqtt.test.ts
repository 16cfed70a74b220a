/**
 * Alert notifications on the embedded broker, read by a tool (Node-RED,
 * Home Assistant) with a real mqtt.js client: it logs in as `$api` with an
 * API token, hears `alerts/{severity}/{ruleId}`, and nothing of devices; it
 * is not a device and may publish nothing.
 */
import t from 'tap';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { AlertNotification, DeviceListResponse } from '@iot-hub/protocol';
import { addUser, login } from '../helpers/accounts.js';
import { connectMqtt } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { fire, sleep, waitUntil } from './notify-fixtures.js';

async function viewerToken(hub: TestHub): Promise<{ id: string; token: string }> {
  await addUser(hub, 'nora', 'viewer');
  const nora = await login(hub, 'nora');
  const res = await nora.api('POST', '/api/tokens', { name: 'node-red' });
  return res.body as { id: string; token: string };
}

async function connectTool(t: Parameters<typeof connectMqtt>[0], hub: TestHub, token: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(hub.mqttUrl, { clientId: 'node-red-1', username: '$api', password: token, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  t.teardown(() => client.endAsync(true));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
  return client;
}

async function connackOf(t: Parameters<typeof connectMqtt>[0], hub: TestHub, token: string, options: IClientOptions = {}): Promise<number | 'connected'> {
  try {
    await connectTool(t, hub, token, options);
    return 'connected';
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

/** The granted QoS per filter; mqtt.js rejects a SUBACK with 0x80 in it and carries the SUBACK. */
function granted(client: MqttClient, topics: string | string[], qos: 0 | 1): Promise<number[] | undefined> {
  return client.subscribeAsync(topics, { qos }).then(
    (g) => g.map((x) => x.qos),
    (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
  );
}

async function scrape(hub: TestHub, name: string): Promise<string | undefined> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  return text.split('\n').find((l) => l.startsWith(name + ' '));
}

t.test('a tool with a viewer token subscribes to alerts/# and hears each notification, and nothing of devices', async (t) => {
  const hub = await startTestHub(t);
  const { token } = await viewerToken(hub);
  const device = await hub.provision('thermo-1');
  const deviceClient = await connectMqtt(t, hub, device.id, device.token);

  const tool = await connectTool(t, hub, token);
  const heard: IPublishPacket[] = [];
  tool.on('message', (_topic, _payload, packet) => heard.push(packet));
  t.same(await granted(tool, 'alerts/#', 1), [1], 'alerts/# granted');
  t.same(await granted(tool, 'devices/#', 1), [128], 'devices/# refused');
  t.same(await granted(tool, `devices/${device.id}/telemetry`, 1), [128], "a device's topic refused");
  t.same(await granted(tool, ['#', '+/+/telemetry', '$SYS/#'], 0), [128, 128, 128], 'no wildcard reaches past alerts/');
  t.equal(tool.connected, true, 'refusals do not disconnect');

  await deviceClient.publishAsync(`devices/${device.id}/telemetry`, JSON.stringify({ metrics: { temperature: 30 } }), { qos: 1 });
  fire(hub, 'too-warm', [device.id], { severity: 'warning' });
  await waitUntil('the notification', async () => heard.length > 0, 10_000);
  await sleep(300);
  t.equal(heard.length, 1, 'one message: the notification, no device traffic');
  const [packet] = heard;
  t.match(packet, { topic: 'alerts/warning/too-warm', qos: 1, retain: false });
  const notification = JSON.parse(packet!.payload.toString()) as AlertNotification;
  t.match(notification, { ruleId: 'too-warm', ruleName: 'rule too-warm', severity: 'warning', state: 'firing', alerts: [{ deviceId: device.id, value: 31.5 }] });

  const devices = (await hub.api('GET', '/api/devices')).body as DeviceListResponse;
  t.same(devices.devices.map((d) => d.id), [device.id], 'the tool is not a device');
  t.equal(await scrape(hub, 'iot_hub_mqtt_tool_connections'), 'iot_hub_mqtt_tool_connections 1');
  t.equal(await scrape(hub, 'iot_hub_alert_mqtt_publishes_total'), 'iot_hub_alert_mqtt_publishes_total 1');

  // Nothing retained: a tool connecting later does not get old alerts.
  const late = await connectTool(t, hub, token, { clientId: 'node-red-2' });
  const lateHeard: string[] = [];
  late.on('message', (topic) => lateHeard.push(topic));
  await late.subscribeAsync('alerts/#', { qos: 1 });
  await sleep(300);
  t.same(lateHeard, [], 'no retained alert');
});

t.test('a tool publishes nothing: a publish disconnects it', async (t) => {
  const hub = await startTestHub(t);
  const { token } = await viewerToken(hub);
  const tool = await connectTool(t, hub, token);
  const closed = new Promise<void>((resolve) => tool.once('close', () => resolve()));
  tool.publish('alerts/critical/fake', '{}', { qos: 1 });
  await closed;
  t.pass('disconnected');
});

t.test('refused tool logins: bad token, a device\'s client id, a persistent session, a will; a revoked token disconnects', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await viewerToken(hub);
  await hub.provision('lamp-1');
  t.equal(await connackOf(t, hub, 'not-a-valid-token-at-all'), 4, 'unknown token: CONNACK 4');
  t.equal(await connackOf(t, hub, token, { clientId: 'lamp-1' }), 2, "a device's client id: CONNACK 2");
  t.equal(await connackOf(t, hub, token, { clean: false }), 5, 'persistent session: CONNACK 5');
  t.equal(await connackOf(t, hub, token, { will: { topic: 'alerts/x', payload: Buffer.from('{}'), qos: 0, retain: false } }), 5, 'a will: CONNACK 5');
  t.equal(await connackOf(t, hub, hub.adminToken), 'connected', 'the admin token works too');

  const tool = await connectTool(t, hub, token, { clientId: 'ha-1' });
  const closed = new Promise<void>((resolve) => tool.once('close', () => resolve()));
  t.equal((await hub.api('DELETE', `/api/tokens/${id}`)).status, 204);
  await closed;
  t.pass('revoking the token disconnects the tool');
});
