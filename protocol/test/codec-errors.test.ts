/**
 * The decoder's error texts tell a firmware author what is allowed, not only
 * that something is wrong [FP-8]: enum values, the alternatives of a field
 * that takes several types, the message types, the version, the time rules
 * of a batch [FP-4.2].
 */
import t from 'tap';
import { ProtocolError, decodeDeviceMessage, type DeviceMessageType } from '@iot-hub/protocol';

function refusal(message: unknown, impliedType?: DeviceMessageType): { error: string; message: string } {
  try {
    decodeDeviceMessage(JSON.stringify(message), impliedType ? { impliedType } : {});
  } catch (err) {
    if (err instanceof ProtocolError) return { error: err.error, message: err.message };
    throw err;
  }
  throw new Error(`decoded: ${JSON.stringify(message)}`);
}

const schema = 'message does not match the schema: ';

t.test('an enum error lists the allowed values and names the value sent', async (t) => {
  t.same(refusal({ status: 'away' }, 'status'), { error: 'invalid_message', message: `${schema}/status must be one of "online", "offline", got "away"` });
  t.same(refusal({ id: 'c1', status: 'done' }, 'result'), { error: 'invalid_message', message: `${schema}/status must be one of "acknowledged", "succeeded", "failed", got "done"` });
  t.same(refusal({ kind: 'x', metrics: { t: { type: 'string' } } }, 'hello'), { error: 'invalid_message', message: `${schema}/metrics/t/type must be one of "number", "boolean", got "string"` });
  t.same(refusal({ kind: 'x', state: { mode: { type: 'float' } } }, 'hello'), {
    error: 'invalid_message',
    message: `${schema}/state/mode/type must be one of "number", "integer", "boolean", "string", "enum", got "float"`,
  });
  // A value deep in the message is found by its path.
  t.same(refusal({ kind: 'x', commands: { go: { params: { 'a.b': { type: 'date' } } } } }, 'hello'), {
    error: 'invalid_message',
    message: `${schema}/commands/go/params/a.b/type must be one of "number", "integer", "boolean", "string", "enum", got "date"`,
  });
});

t.test('a field that takes several types lists every alternative, not only the first', async (t) => {
  t.same(refusal({ metrics: { a: 1 }, mid: {} }, 'telemetry'), { error: 'invalid_message', message: `${schema}/mid must be string or must be integer` });
  t.same(refusal({ state: { on: {} } }, 'state'), { error: 'invalid_message', message: `${schema}/state/on must be number,boolean,null or must be string` });
  t.same(refusal({ kind: 'x', boot: '' }, 'hello'), { error: 'invalid_message', message: `${schema}/boot must be integer or must NOT have fewer than 1 characters` });
});

t.test('a batch with ts, age or seq on the message names them', async (t) => {
  t.same(refusal({ ts: 1764100005000, samples: [{ ts: 1764100005000, metrics: { a: 1 } }] }, 'telemetry'), {
    error: 'invalid_message',
    message: `${schema}(message): a batch carries "ts" on each sample, not on the message`,
  });
  t.same(refusal({ type: 'telemetry', age: 5, seq: 1, samples: [{ age: 5, seq: 1, metrics: { a: 1 } }] }), {
    error: 'invalid_message',
    message: `${schema}(message): a batch carries "age" and "seq" on each sample, not on the message`,
  });
  t.same(refusal({ samples: [{ metrics: { a: 1 } }] }, 'telemetry'), { error: 'invalid_message', message: `${schema}/samples/0: a batch sample must have exactly one of "ts" or "age"` });
  t.same(refusal({}, 'telemetry'), { error: 'invalid_message', message: `${schema}(message): must have exactly one of "metrics" or "samples"` });
});

t.test('a bad name still names the key and the pattern', async (t) => {
  t.match(refusal({ metrics: { 'bad name': 1 } }, 'telemetry'), { error: 'invalid_message', message: /^message does not match the schema: \/metrics: name "bad name" must match pattern "/ });
});

t.test('type and version errors list what is allowed', async (t) => {
  const types = 'hello, telemetry, state, result, status, ping, auth';
  t.same(refusal({ type: 'telemetri', metrics: { a: 1 } }), { error: 'unknown_type', message: `unknown message type: "telemetri": the device message types are ${types}` });
  t.same(refusal({ metrics: { a: 1 } }), { error: 'invalid_message', message: `${schema}missing required field "type": one of ${types}` });
  t.same(refusal({ type: 'state', state: {} }, 'telemetry'), {
    error: 'type_mismatch',
    message: 'message type does not match the MQTT channel: channel carries "telemetry", message says "state": leave "type" out or send "telemetry"',
  });
  t.same(refusal({ v: 2, type: 'ping' }), { error: 'unsupported_version', message: 'unsupported protocol version: this hub speaks v1, got 2: send "v": 1 or leave "v" out' });
});
