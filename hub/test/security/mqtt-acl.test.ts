/**
 * MQTT least privilege with real mqtt.js clients [FP-3.1], beyond what
 * transports/mqtt/mqtt-bad-input.test.ts covers (publishing and subscribing
 * to other devices' topics, $SYS, wildcards): wills, stolen client ids and
 * subscriptions restored from a persistent session.
 */
import t from 'tap';
import type { DeviceView } from '@iot-hub/protocol';
import type { MqttClient } from 'mqtt';
import { collectMessages, connectMqtt, eventually } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

async function connack(t: Parameters<typeof connectMqtt>[0], hub: TestHub, id: string, token: string, options: Parameters<typeof connectMqtt>[4] = {}): Promise<number | 'connected'> {
  try {
    await connectMqtt(t, hub, id, token, options);
    return 'connected';
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

async function scrape(hub: TestHub, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function presence(hub: TestHub, id: string): Promise<DeviceView['presence']> {
  return ((await hub.api('GET', `/api/devices/${id}`)).body as DeviceView).presence;
}

/** The device's subscription is live in the broker: a forbidden publish brings back its error. */
async function stillSubscribed(client: MqttClient, id: string): Promise<void> {
  const inbox = collectMessages(client);
  await client.publishAsync(`devices/${id}/firmware`, '{}', { qos: 1 });
  await eventually(() => inbox.some((m) => m.topic === `devices/${id}/errors` && m.payload.error === 'forbidden_topic'), 3000, 'the error on the own errors channel');
}

t.test('a will outside the own device channels is refused at CONNECT with CONNACK 5', async (t) => {
  const hub = await startTestHub(t);
  const a = await hub.provision('will-a');
  const b = await hub.provision('will-b');
  const bClient = await connectMqtt(t, hub, b.id, b.token);
  const bInbox = collectMessages(bClient);
  await bClient.subscribeAsync(`devices/${b.id}/#`, { qos: 1 });

  const will = (topic: string) => ({ will: { topic, payload: Buffer.from('{"status":"offline"}'), qos: 1 as const, retain: true } });
  for (const topic of [`devices/${b.id}/status`, `devices/${b.id}/commands`, `devices/${a.id}/commands`, `devices/${a.id}/errors`, '$SYS/iot-hub/clients', 'home/alarm', `devices/${a.id}/status/x`]) {
    t.equal(await connack(t, hub, a.id, a.token, will(topic)), 5, topic);
  }
  t.equal((await presence(hub, a.id)).status, 'offline', 'never online');
  t.equal(await scrape(hub, 'iot_hub_mqtt_refused_connects_total'), 7, 'counted');

  for (const topic of [`devices/${a.id}/status`, `devices/${a.id}/telemetry`]) {
    t.equal(await connack(t, hub, a.id, a.token, will(topic)), 'connected', `own channel ${topic}`);
  }
  await new Promise((r) => setTimeout(r, 100));
  t.same(bInbox.filter((m) => !m.topic.endsWith('/desired') && !m.topic.endsWith('/pong')), [], 'device B heard nothing but what the hub sends it');
});

t.test("a stolen client id is refused without disturbing the device that owns it", async (t) => {
  const hub = await startTestHub(t);
  const a = await hub.provision('owner-a');
  const b = await hub.provision('thief-b');
  // A persistent session: a takeover would be visible as a lost session or subscription.
  const real = await connectMqtt(t, hub, a.id, a.token, { clean: false });
  await real.subscribeAsync(`devices/${a.id}/#`, { qos: 1 });
  let closes = 0;
  real.on('close', () => (closes += 1));

  t.equal(await connack(t, hub, a.id, b.token, { username: b.id, password: b.token }), 2, "B's credentials with A's client id");
  t.equal(await connack(t, hub, a.id, 'not-the-token', { clean: false }), 4, "A's client id with a wrong token");
  t.equal(await connack(t, hub, a.id, '', { username: a.id, password: undefined }), 4, "A's client id without a password");
  t.equal(await connack(t, hub, a.id, a.token, { username: b.id, password: a.token }), 4, "A's token under B's name");

  await new Promise((r) => setTimeout(r, 200));
  t.equal(closes, 0, 'the real device was never disconnected');
  t.equal(real.connected, true);
  t.match(await presence(hub, a.id), { status: 'online', reason: 'connected' });
  await stillSubscribed(real, a.id);
  await real.publishAsync(`devices/${a.id}/telemetry`, '{"metrics":{"x":7}}', { qos: 1 });
  t.equal(((await hub.api('GET', `/api/devices/${a.id}`)).body as DeviceView).latest.x?.value, 7, 'and still publishes');
  t.equal((await presence(hub, b.id)).status, 'offline', 'B never came online');
});

t.test('subscriptions restored from a persistent session are checked again', async (t) => {
  const hub = await startTestHub(t);
  const a = await hub.provision('sess-a');
  const b = await hub.provision('sess-b');
  const first = await connectMqtt(t, hub, a.id, a.token, { clean: false });
  // One SUBSCRIBE, one allowed and one forbidden filter: aedes keeps both in the session.
  const granted = await first.subscribeAsync({ [`devices/${a.id}/#`]: { qos: 1 }, [`devices/${b.id}/errors`]: { qos: 1 } }).then(
    (g) => g.map((x) => x.qos),
    (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
  );
  t.same(granted, [1, 128]);
  await first.endAsync();
  t.equal(await scrape(hub, 'iot_hub_mqtt_refused_subscriptions_total'), 1);

  const resumed = await connectMqtt(t, hub, a.id, a.token, { clean: false });
  const inbox = collectMessages(resumed);
  t.equal(await scrape(hub, 'iot_hub_mqtt_refused_subscriptions_total'), 2, 'the restored forbidden filter was refused again');
  const bClient = await connectMqtt(t, hub, b.id, b.token);
  // The hub publishes an error to devices/sess-b/errors: A must not see it.
  await bClient.publishAsync(`devices/${b.id}/telemetry`, 'not json', { qos: 1 });
  await stillSubscribed(resumed, a.id);
  t.notOk(inbox.some((m) => m.topic.startsWith(`devices/${b.id}/`)), "nothing of B's reached A");
  await resumed.endAsync();

  await connectMqtt(t, hub, a.id, a.token, { clean: false });
  await new Promise((r) => setTimeout(r, 100));
  t.equal(await scrape(hub, 'iot_hub_mqtt_refused_subscriptions_total'), 2, 'the refused filter was forgotten, not refused on every reconnect');
});
