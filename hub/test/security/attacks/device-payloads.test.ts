/**
 * Hostile device payloads that are valid JSON (or nearly): values nested
 * thousands deep and invalid UTF-8. Each gets a 4xx error the device must
 * not resend [FP-8], the connection stays up, the command it answered stays
 * answerable, and nothing surfaces as a 5xx storage error (issue 18 items 4
 * and 13).
 */
import t, { type Test } from 'tap';
import { MAX_JSON_DEPTH, type CommandView } from '@iot-hub/protocol';
import { collectMessages, connectMqtt, deviceSocket, eventually } from '../../helpers/clients.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

const DEEP = 5000;
const deep = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);

/** Rejects if `promise` has not settled within `ms`: a missing PUBACK or ack fails the test instead of hanging it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function errorCount(hub: TestHub, code: string): Promise<number> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`iot_hub_device_errors_total{code="${code}"} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

async function sendCommand(hub: TestHub, deviceId: string): Promise<string> {
  const res = await hub.api('POST', `/api/devices/${deviceId}/commands`, { name: 'identify' });
  if (res.status !== 202) throw new Error(`command: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as CommandView).id;
}

async function command(hub: TestHub, id: string): Promise<CommandView> {
  return (await hub.api('GET', `/api/commands/${id}`)).body as CommandView;
}

const HELLO = { kind: 'plug', commands: { identify: {} } };

t.test('mqtt: a result nested 5,000 deep gets invalid_message and a PUBACK, the command stays answerable', async (t: Test) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('deep-mqtt');
  const client = await connectMqtt(t, hub, id, token);
  const inbox = collectMessages(client);
  await client.subscribeAsync(`devices/${id}/#`, { qos: 1 });
  await client.publishAsync(`devices/${id}/hello`, JSON.stringify(HELLO), { qos: 1 });
  const cmd = await sendCommand(hub, id);
  await eventually(() => inbox.find((m) => m.topic.endsWith('/commands')), 5000, 'the command');
  let closed = false;
  client.on('close', () => (closed = true));

  const payload = `{"id":"${cmd}","status":"succeeded","result":${deep(DEEP)}}`;
  // publishAsync resolves on the PUBACK: the hub answers it, so the device does not resend.
  await within(client.publishAsync(`devices/${id}/results`, payload, { qos: 1 }), 5000, 'PUBACK');
  const error = await eventually(() => inbox.find((m) => m.topic.endsWith('/errors')), 5000, 'the error');
  t.same(error.payload, {
    v: 1,
    type: 'error',
    code: 400,
    error: 'invalid_message',
    message: `message does not match the schema: JSON nested deeper than ${MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)`,
    topic: `devices/${id}/results`,
  });
  t.equal((await command(hub, cmd)).state, 'sent', 'the command did not change and stays answerable');
  t.equal(await errorCount(hub, 'storage_unavailable'), 0, 'never a storage error');

  await client.publishAsync(`devices/${id}/results`, JSON.stringify({ id: cmd, status: 'failed', error: 'result too deep' }), { qos: 1 });
  t.match(await command(hub, cmd), { state: 'failed', error: 'result too deep' });
  t.notOk(closed, 'the device stayed connected');
  t.equal(inbox.filter((m) => m.topic.endsWith('/commands')).length, 1, 'the command was not sent again');
});

t.test('ws: a result nested 5,000 deep gets invalid_message with its ref and no ack, the command stays answerable', async (t: Test) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('deep-ws');
  const ws = await deviceSocket(t, hub, id, token);
  await ws.next((f) => f.type === 'welcome');
  ws.send({ type: 'hello', mid: 'h', ...HELLO });
  await ws.next((f) => f.type === 'ack' && f.mid === 'h');
  const cmd = await sendCommand(hub, id);
  await ws.next((f) => f.type === 'command');

  ws.send(`{"type":"result","mid":"r1","id":"${cmd}","status":"succeeded","result":${deep(DEEP)}}`);
  const error = await ws.next((f) => f.type === 'error');
  t.same(error, {
    v: 1,
    type: 'error',
    code: 400,
    error: 'invalid_message',
    message: `message does not match the schema: JSON nested deeper than ${MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)`,
    ref: 'r1',
  });
  t.equal((await command(hub, cmd)).state, 'sent', 'the command did not change and stays answerable');
  t.equal(await errorCount(hub, 'storage_unavailable'), 0, 'never a storage error');

  ws.send({ type: 'result', mid: 'r2', id: cmd, status: 'succeeded', result: { nested: [[[1]]] } });
  await ws.next((f) => f.type === 'ack' && f.mid === 'r2');
  t.match(await command(hub, cmd), { state: 'succeeded', result: { nested: [[[1]]] } });
  t.notOk(ws.frames.some((f) => f.type === 'ack' && f.mid === 'r1'), 'the refused result was never acknowledged');
  t.equal(ws.ws.readyState, ws.ws.OPEN, 'the device stayed connected');
});

t.test('every message type: deep unknown fields are refused at decode, a value at the limit is accepted', async (t: Test) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('deep-fields');
  const ws = await deviceSocket(t, hub, id, token);
  await ws.next((f) => f.type === 'welcome');
  const frames: Record<string, string> = {
    hello: `{"type":"hello","kind":"plug","mid":"hello","metrics":{"t":{"type":"number","extra":${deep(DEEP)}}}}`,
    state: `{"type":"state","mid":"state","state":{"on":true},"extra":${deep(DEEP)}}`,
    telemetry: `{"type":"telemetry","mid":"telemetry","metrics":{"t":1},"extra":{"a":${deep(DEEP)}}}`,
    ping: `{"type":"ping","mid":"ping","extra":${deep(DEEP)}}`,
  };
  for (const [type, text] of Object.entries(frames)) {
    ws.send(text);
    const error = await ws.next((f) => f.type === 'error' && f.ref === type);
    t.equal(error.error, 'invalid_message', `${type}: invalid_message`);
  }
  // The message object is level 1: a value of MAX_JSON_DEPTH - 1 levels inside it just fits.
  ws.send(`{"type":"telemetry","mid":"fits","metrics":{"t":2},"extra":${deep(MAX_JSON_DEPTH - 1)}}`);
  await ws.next((f) => f.type === 'ack' && f.mid === 'fits');
  ws.send(`{"type":"telemetry","mid":"over","metrics":{"t":3},"extra":${deep(MAX_JSON_DEPTH)}}`);
  t.equal((await ws.next((f) => f.type === 'error' && f.ref === 'over')).error, 'invalid_message', 'one level more is refused');
  t.equal(ws.ws.readyState, ws.ws.OPEN, 'still connected (5 errors, under the limit of 10)');
});

t.test('mqtt: invalid UTF-8 inside a JSON payload is bad_json, not silently replaced', async (t: Test) => {
  const hub = await startTestHub(t);
  const { id, token } = await hub.provision('utf8-mqtt');
  const client = await connectMqtt(t, hub, id, token);
  const inbox = collectMessages(client);
  await client.subscribeAsync(`devices/${id}/#`, { qos: 1 });
  const before = Buffer.from('{"state":{"label":"caf');
  const after = Buffer.from('"}}');
  // 0xC3 starts a two-byte sequence that 0x28 does not continue; 0xFF is never UTF-8.
  for (const bad of [Buffer.from([0xc3, 0x28]), Buffer.from([0xff]), Buffer.from([0xed, 0xa0, 0x80])]) {
    await within(client.publishAsync(`devices/${id}/state`, Buffer.concat([before, bad, after]), { qos: 1 }), 5000, 'PUBACK');
  }
  const errors = await eventually(() => {
    const found = inbox.filter((m) => m.topic.endsWith('/errors'));
    return found.length === 3 ? found : null;
  });
  for (const e of errors) t.match(e.payload, { code: 400, error: 'bad_json', message: /^payload is not valid JSON: / });
  const state = (await hub.api('GET', `/api/devices/${id}/state`)).body as { reported: Record<string, unknown> };
  t.same(state.reported, {}, 'nothing was stored');

  await client.publishAsync(`devices/${id}/state`, JSON.stringify({ state: { label: 'café ☕' } }), { qos: 1 });
  const stored = (await hub.api('GET', `/api/devices/${id}/state`)).body as { reported: Record<string, { value: unknown }> };
  t.equal(stored.reported.label?.value, 'café ☕', 'valid multi-byte UTF-8 is kept as sent');
});
