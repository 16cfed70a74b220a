/**
 * The device WebSocket end to end with a real `ws` client: both ways to
 * authenticate, durable acks, presence, and every bad-input case [FP-3.2].
 */
import t from 'tap';
import WebSocket from 'ws';
import { MAX_ERRORS_BEFORE_DISCONNECT, WS_CLOSE, type DeviceView, type HistoryResponse } from '@iot-hub/protocol';
import { dashboardSocket, deviceSocket, eventually, jsonSocket, upgradeStatus } from '../../helpers/clients.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

async function view(hub: TestHub, id: string): Promise<DeviceView> {
  return (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
}

t.test('a WS device authenticated in the upgrade: welcome, ack after storage, live push, history', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('ws-plug', 'plug');
  const dash = await dashboardSocket(t, hub);
  dash.send({ id: 'sub', op: 'subscribe', devices: [id], events: ['telemetry'] });
  await dash.next((f) => f.id === 'sub');

  const device = await deviceSocket(t, hub, id, token);
  t.match(await device.next((f) => f.type === 'welcome'), { v: 1, type: 'welcome', id });
  t.equal((await view(hub, id)).presence.transport, 'ws');

  device.send({ v: 1, type: 'telemetry', mid: 7, metrics: { power: 42.5, on: true } });
  t.same(await device.next((f) => f.type === 'ack'), { v: 1, type: 'ack', mid: 7 });
  t.match(await dash.next((f) => f.event === 'telemetry'), { deviceId: id, metrics: { power: 42.5, on: true } });
  t.equal((await view(hub, id)).latest.power?.value, 42.5);
  const history = (await hub.api('GET', `/api/devices/${id}/telemetry?metric=power`)).body as HistoryResponse;
  t.equal(history.series[0]?.points[0]?.avg, 42.5);

  device.send({ type: 'ping', mid: 'p1' });
  t.match(await device.next((f) => f.type === 'pong'), { v: 1, type: 'pong' });

  device.ws.close(1000);
  await eventually(async () => (await view(hub, id)).presence.status === 'offline', 3000, 'offline');
  t.match((await view(hub, id)).presence, { status: 'offline', reason: 'disconnected', transport: 'ws' });
});

t.test('a WS device may authenticate with a first auth frame instead', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('ws-auth');
  const device = await jsonSocket(t, `${hub.wsUrl}/ws/device`);
  device.send({ v: 1, type: 'auth', id, token });
  await device.next((f) => f.type === 'welcome');
  device.send({ type: 'telemetry', mid: 'a', metrics: { x: 3 } });
  await device.next((f) => f.type === 'ack');
  t.equal((await view(hub, id)).latest.x?.value, 3);
  device.ws.terminate();
  await eventually(async () => (await view(hub, id)).presence.status === 'offline', 3000, 'offline');
  t.equal((await view(hub, id)).presence.reason, 'connection-lost');
});

t.test('bad credentials in the upgrade get 401 without upgrading', async (t) => {
  const hub = await startTestHub(t);
  const { id } = await hub.provision('ws-x');
  const basic = (s: string) => 'Basic ' + Buffer.from(s).toString('base64');
  for (const authorization of [basic(`${id}:wrong`), basic('ghost:whatever'), 'Basic !!!', 'Digest abc', `Bearer ${id}`]) {
    t.equal(await upgradeStatus(jsonSocket(t, `${hub.wsUrl}/ws/device`, { headers: { authorization } })), 401, authorization);
  }
});

t.test('a wrong auth frame, a non-auth first frame, or no auth in time closes the socket', async (t) => {
  const hub = await startTestHub(t);
  const { id } = await hub.provision('ws-y');
  const wrong = await jsonSocket(t, `${hub.wsUrl}/ws/device`);
  wrong.send({ type: 'auth', id, token: 'nope', mid: 1 });
  t.match(await wrong.next((f) => f.type === 'error'), { error: 'unauthorized', code: 401, ref: 1 });
  t.equal((await wrong.closed).code, WS_CLOSE.unauthorized);

  const early = await jsonSocket(t, `${hub.wsUrl}/ws/device`);
  early.send({ type: 'telemetry', metrics: { x: 1 } });
  t.match(await early.next((f) => f.type === 'error'), { error: 'unauthorized' });
  t.equal((await early.closed).code, WS_CLOSE.unauthorized);

  const silent = await jsonSocket(t, `${hub.wsUrl}/ws/device`);
  t.match(await silent.next((f) => f.type === 'error', 8000), { error: 'auth_timeout', code: 408 });
  t.equal((await silent.closed).code, WS_CLOSE.authTimeout);
});

const badFrames: { name: string; frame: string | Buffer; error: string; message: RegExp }[] = [
  { name: 'bad JSON', frame: '{"type":"telemetry",', error: 'bad_json', message: /not valid JSON/ },
  { name: 'no type', frame: '{"metrics":{"x":1}}', error: 'invalid_message', message: /^message does not match the schema: missing required field "type": one of hello, telemetry, state, result, status, ping, auth$/ },
  { name: 'an unknown type', frame: '{"type":"reboot-everything"}', error: 'unknown_type', message: /^unknown message type: "reboot-everything": the device message types are hello, telemetry, state, result, status, ping, auth$/ },
  { name: 'a value outside an enum', frame: '{"type":"status","mid":9,"status":"asleep"}', error: 'invalid_message', message: /^message does not match the schema: \/status must be one of "online", "offline", got "asleep"$/ },
  { name: 'a schema violation', frame: '{"type":"telemetry","mid":9,"metrics":{"x":[1]}}', error: 'invalid_message', message: /\/metrics\/x/ },
  // [FP-4.2] ts, age and seq belong on each sample of a batch: on the message as well, the batch is refused.
  { name: 'a batch with ts on the message', frame: JSON.stringify({ type: 'telemetry', mid: 9, ts: Date.now(), samples: [{ ts: Date.now(), metrics: { x: 1 } }] }), error: 'invalid_message', message: /^message does not match the schema: \(message\): a batch carries "ts" on each sample, not on the message$/ },
  { name: 'a batch with age on the message', frame: JSON.stringify({ type: 'telemetry', mid: 9, age: 500, samples: [{ age: 500, metrics: { x: 1 } }] }), error: 'invalid_message', message: /^message does not match the schema: \(message\): a batch carries "age" on each sample, not on the message$/ },
  { name: 'a binary frame', frame: Buffer.from([1, 2, 3]), error: 'invalid_message', message: /binary frames/ },
  { name: 'a second auth', frame: '{"type":"auth","id":"ws-z","token":"x"}', error: 'invalid_message', message: /already authenticated/ },
];

for (const c of badFrames) {
  t.test(`WS ${c.name}: error frame, nothing stored, socket kept`, async (t) => {
    const hub = await startTestHub(t);
    const { id, token } = await hub.provision('ws-z');
    const other = await hub.provision('ws-other');
    const device = await deviceSocket(t, hub, id, token);
    const bystander = await deviceSocket(t, hub, other.id, other.token);
    await device.next((f) => f.type === 'welcome');
    device.ws.send(c.frame);
    const err = await device.next((f) => f.type === 'error');
    t.match(err, { v: 1, type: 'error', error: c.error, code: 400, message: c.message });
    if (typeof c.frame === 'string' && c.frame.includes('"mid":9')) t.equal(err.ref, 9, 'error refers to the mid');
    t.equal(device.ws.readyState, WebSocket.OPEN);
    t.same((await view(hub, id)).latest, {});
    t.equal((await view(hub, id)).stats.errors, 1);
    bystander.send({ type: 'telemetry', mid: 1, metrics: { ok: 1 } });
    await bystander.next((f) => f.type === 'ack');
  });
}

t.test('a frame over the size limit closes with 1009; the hub carries on', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('ws-big');
  const other = await hub.provision('ws-other');
  const device = await deviceSocket(t, hub, id, token);
  const bystander = await deviceSocket(t, hub, other.id, other.token);
  device.send(JSON.stringify({ type: 'telemetry', metrics: { x: 1 }, pad: 'x'.repeat(hub.config.maxPayloadBytes) }));
  t.equal((await device.closed).code, WS_CLOSE.messageTooBig);
  bystander.send({ type: 'telemetry', mid: 1, metrics: { ok: 1 } });
  await bystander.next((f) => f.type === 'ack');
});

t.test(`after ${MAX_ERRORS_BEFORE_DISCONNECT} errors a WS device is closed with 4429`, async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('ws-noisy');
  const device = await deviceSocket(t, hub, id, token);
  for (let i = 0; i < MAX_ERRORS_BEFORE_DISCONNECT; i++) device.send('garbage');
  t.equal((await device.closed).code, WS_CLOSE.tooManyErrors);
  t.ok(device.frames.some((f) => f.error === 'too_many_errors'));
});

t.test('a newer connection replaces the older one (4409) and the device stays online', async (t) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('ws-twice');
  const first = await deviceSocket(t, hub, id, token);
  await first.next((f) => f.type === 'welcome');
  const second = await deviceSocket(t, hub, id, token);
  await second.next((f) => f.type === 'welcome');
  t.equal((await first.closed).code, WS_CLOSE.conflict);
  await new Promise((r) => setTimeout(r, 100));
  t.match((await view(hub, id)).presence, { status: 'online', transport: 'ws' });
});

t.test('unknown upgrade paths get 404', async (t) => {
  const hub = await startTestHub(t);
  t.equal(await upgradeStatus(jsonSocket(t, `${hub.wsUrl}/ws/nope`)), 404);
});
