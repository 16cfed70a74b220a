/**
 * Bad input over MQTT ([G2]): each case gets a specific error
 * on the device's `errors` channel (MQTT 3.1.1 has no negative PUBACK), is
 * dropped and counted, and never disturbs another device.
 */
import t, { type Test } from 'tap';
import { MAX_ERRORS_BEFORE_DISCONNECT, type DeviceView } from '@iot-hub/protocol';
import type { MqttClient } from 'mqtt';
import { collectMessages, connectMqtt, eventually, mqttClosed } from '../../helpers/clients.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

async function setup(t: Test) {
  const hub = await startTestHub(t);
  const a = await hub.provision('dev-a');
  const b = await hub.provision('dev-b');
  const clientA = await connectMqtt(t, hub, a.id, a.token);
  const errorsA = collectMessages(clientA);
  await clientA.subscribeAsync(`devices/${a.id}/errors`, { qos: 0 });
  const clientB = await connectMqtt(t, hub, b.id, b.token);
  const inboxB = collectMessages(clientB);
  await clientB.subscribeAsync(`devices/${b.id}/#`, { qos: 1 });
  return { hub, a, b, clientA, errorsA, clientB, inboxB };
}
async function latest(hub: TestHub, id: string): Promise<DeviceView> {
  return (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
}

/** B still works: its telemetry is stored. */
async function bystanderStillWorks(t: Test, hub: TestHub, client: MqttClient, id: string): Promise<void> {
  const value = Math.random();
  await client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ metrics: { check: value } }), { qos: 1 });
  t.equal((await latest(hub, id)).latest.check?.value, value, 'the other device is unaffected');
}

const cases: { name: string; topic: (id: string) => string; payload: string; error: string; code: number; message: RegExp }[] = [
  { name: 'bad JSON', topic: (id) => `devices/${id}/telemetry`, payload: '{"metrics": {', error: 'bad_json', code: 400, message: /not valid JSON/ },
  { name: 'a JSON array', topic: (id) => `devices/${id}/telemetry`, payload: '[1,2]', error: 'invalid_message', code: 400, message: /must be a JSON object/ },
  { name: 'a schema violation', topic: (id) => `devices/${id}/telemetry`, payload: '{"metrics":{"temperature":"hot"}}', error: 'invalid_message', code: 400, message: /\/metrics\/temperature must be number,boolean/ },
  { name: 'both metrics and samples', topic: (id) => `devices/${id}/telemetry`, payload: '{"metrics":{"a":1},"samples":[{"ts":1,"metrics":{"a":1}}]}', error: 'invalid_message', code: 400, message: /exactly one of "metrics" or "samples"/ },
  // [FP-4.2] ts, age and seq belong on each sample of a batch: on the message as well, the batch is refused.
  { name: 'a batch with ts on the message', topic: (id) => `devices/${id}/telemetry`, payload: JSON.stringify({ ts: Date.now(), samples: [{ ts: Date.now(), metrics: { a: 1 } }] }), error: 'invalid_message', code: 400, message: /^message does not match the schema: \(message\): a batch carries "ts" on each sample, not on the message$/ },
  { name: 'a batch with seq on the message', topic: (id) => `devices/${id}/telemetry`, payload: JSON.stringify({ seq: 3, samples: [{ ts: Date.now(), seq: 3, metrics: { a: 1 } }] }), error: 'invalid_message', code: 400, message: /^message does not match the schema: \(message\): a batch carries "seq" on each sample, not on the message$/ },
  { name: 'a type that contradicts the channel', topic: (id) => `devices/${id}/telemetry`, payload: '{"type":"state","state":{}}', error: 'type_mismatch', code: 400, message: /^message type does not match the MQTT channel: channel carries "telemetry", message says "state": leave "type" out or send "telemetry"$/ },
  { name: 'an unknown message type', topic: (id) => `devices/${id}/telemetry`, payload: '{"type":"selfdestruct"}', error: 'unknown_type', code: 400, message: /^unknown message type: "selfdestruct": the device message types are hello, telemetry, state, result, status, ping, auth$/ },
  { name: 'an unsupported version', topic: (id) => `devices/${id}/telemetry`, payload: '{"v":2,"metrics":{"a":1}}', error: 'unsupported_version', code: 400, message: /^unsupported protocol version: this hub speaks v1, got 2: send "v": 1 or leave "v" out$/ },
  { name: 'a timestamp far in the future', topic: (id) => `devices/${id}/telemetry`, payload: JSON.stringify({ ts: Date.now() + 3600_000, metrics: { a: 1 } }), error: 'bad_timestamp', code: 400, message: /ahead of the hub clock/ },
  { name: 'an unknown channel', topic: (id) => `devices/${id}/firmware`, payload: '{}', error: 'forbidden_topic', code: 403, message: /^a device may use only its own topics: cannot publish to "devices\/dev-a\/firmware": publish to devices\/dev-a\/\{hello\|telemetry\|state\|results\|status\|ping\}$/ },
  { name: 'a hub channel', topic: (id) => `devices/${id}/commands`, payload: '{}', error: 'forbidden_topic', code: 403, message: /: publish to devices\/dev-a\/\{hello/ },
  { name: 'a topic outside devices/', topic: () => `home/lights`, payload: '{}', error: 'forbidden_topic', code: 403, message: /"home\/lights"/ },
];

for (const c of cases) {
  t.test(`${c.name}: specific error, dropped, counted, connection kept`, async (t) => {
    const { hub, a, b, clientA, errorsA, clientB } = await setup(t);
    await clientA.publishAsync(c.topic(a.id), c.payload, { qos: 1 });
    const err = await eventually(() => errorsA.find((m) => m.topic === `devices/${a.id}/errors`), 3000, 'error message');
    t.match(err.payload, { v: 1, type: 'error', error: c.error, code: c.code, message: c.message, topic: c.topic(a.id) });
    const view = await latest(hub, a.id);
    t.equal(view.stats.errors, 1, 'counted');
    t.same(view.latest, {}, 'nothing stored');
    t.equal(clientA.connected, true, 'one error does not disconnect');
    await bystanderStillWorks(t, hub, clientB, b.id);
  });
}

t.test("publishing to another device's topic never reaches it", async (t) => {
  const { a, b, clientA, errorsA, inboxB } = await setup(t);
  await clientA.publishAsync(`devices/${b.id}/commands`, JSON.stringify({ v: 1, type: 'command', id: 'x', name: 'unlock', params: {} }), { qos: 1 });
  await clientA.publishAsync(`devices/${b.id}/telemetry`, '{"metrics":{"spoof":1}}', { qos: 1 });
  await eventually(() => errorsA.filter((m) => m.payload.error === 'forbidden_topic').length === 2, 3000, 'two forbidden_topic errors');
  await new Promise((r) => setTimeout(r, 200));
  // What the hub itself sends B (its desired state and pong on subscribe) is fine; nothing of A's is.
  t.same(inboxB.filter((m) => m.topic !== `devices/${b.id}/desired` && m.topic !== `devices/${b.id}/pong`), [], 'device B received nothing from A');
  t.match(errorsA[0]?.payload, { error: 'forbidden_topic', message: new RegExp(`devices/${a.id}/`) });
});

t.test("subscribing to another device's topics or to wildcards is refused with SUBACK 0x80", async (t) => {
  const { a, b, clientA, errorsA } = await setup(t);
  const refused = [`devices/${b.id}/commands`, 'devices/#', '#', '$SYS/#', 'devices/+/telemetry'];
  for (const topic of refused) {
    // mqtt.js rejects a subscribe answered with 0x80 and carries the SUBACK.
    const suback = await clientA.subscribeAsync(topic, { qos: 1 }).then(
      () => null,
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
    );
    t.same(suback, [128], topic);
  }
  t.equal(clientA.connected, true);
  // Each refusal says "subscribe" and lists the filters a device may use [FP-3.1, FP-8].
  await eventually(() => errorsA.filter((m) => m.payload.error === 'forbidden_topic').length === refused.length, 3000, 'one error per refused filter');
  t.same(
    errorsA.filter((m) => m.payload.error === 'forbidden_topic').map((m) => m.payload),
    refused.map((topic) => ({
      v: 1,
      type: 'error',
      code: 403,
      error: 'forbidden_topic',
      message: `a device may use only its own topics: cannot subscribe to ${JSON.stringify(topic)}: subscribe to devices/${a.id}/#, devices/${a.id}/+ or devices/${a.id}/{commands|desired|errors|pong|status}`,
      topic,
    })),
  );
});

t.test('a packet over the size limit closes that connection before the payload is read', async (t) => {
  const { hub, a, b, clientA, clientB } = await setup(t);
  const closed = mqttClosed(clientA);
  clientA.publish(`devices/${a.id}/telemetry`, Buffer.alloc(hub.config.maxPayloadBytes + 2048, 0x20), { qos: 0 });
  await closed;
  await eventually(async () => (await latest(hub, a.id)).presence.status === 'offline', 3000, 'offline');
  await bystanderStillWorks(t, hub, clientB, b.id);
});

t.test('a payload just under the limit is accepted', async (t) => {
  const { hub, a, clientA } = await setup(t);
  // Pad with an unknown field: unknown fields are ignored [FP-2.3].
  const base = '{"metrics":{"x":1},"pad":""}';
  const payload = base.replace('""', `"${'p'.repeat(hub.config.maxPayloadBytes - base.length)}"`);
  t.equal(payload.length, hub.config.maxPayloadBytes);
  await clientA.publishAsync(`devices/${a.id}/telemetry`, payload, { qos: 1 });
  t.equal((await latest(hub, a.id)).latest.x?.value, 1);
});

t.test(`after ${MAX_ERRORS_BEFORE_DISCONNECT} protocol errors the device is disconnected`, async (t) => {
  const { hub, a, b, clientA, errorsA, clientB } = await setup(t);
  const closed = mqttClosed(clientA);
  for (let i = 0; i < MAX_ERRORS_BEFORE_DISCONNECT; i++) clientA.publish(`devices/${a.id}/telemetry`, 'nope', { qos: 0 });
  await closed;
  t.ok(errorsA.some((m) => m.payload.error === 'too_many_errors'), 'told why');
  await bystanderStillWorks(t, hub, clientB, b.id);
});

t.test('unauthenticated connections are refused with the right CONNACK code', async (t) => {
  const hub = await startTestHub(t);
  const a = await hub.provision('dev-a');
  const refused = async (id: string, options: Parameters<typeof connectMqtt>[4]) => {
    try {
      await connectMqtt(t, hub, id, '', options);
      return 'connected';
    } catch (err) {
      return (err as { code?: number }).code;
    }
  };
  t.equal(await refused(a.id, { username: a.id, password: 'wrong-token' }), 4, 'wrong token: bad username or password');
  t.equal(await refused('ghost', { username: 'ghost', password: a.token }), 4, 'unknown device');
  t.equal(await refused(a.id, { username: undefined, password: undefined }), 4, 'no credentials');
  t.equal(await refused('not-a', { username: a.id, password: a.token }), 2, 'client id must be the device id');
  t.equal((await latest(hub, a.id)).presence.status, 'offline');
});

t.test('a deleted device is cut off and can no longer connect', async (t) => {
  const hub = await startTestHub(t);
  const a = await hub.provision('dev-a');
  const client = await connectMqtt(t, hub, a.id, a.token);
  const closed = mqttClosed(client);
  t.equal((await hub.api('DELETE', `/api/devices/${a.id}`)).status, 204);
  await closed;
  await t.rejects(connectMqtt(t, hub, a.id, a.token), { code: 4 });
});
