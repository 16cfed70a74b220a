/**
 * The decoder's bounds on what JSON.parse alone accepts: nesting depth
 * [FP-2.1, FP-7.1] and, for MQTT payloads given as bytes, strict UTF-8.
 */
import t from 'tap';
import { MAX_JSON_DEPTH, ProtocolError, decodeDeviceMessage } from '@iot-hub/protocol';

const nest = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);

function codeOf(payload: string | Uint8Array): string {
  try {
    decodeDeviceMessage(payload, { impliedType: 'result' });
    return 'ok';
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return err.error;
  }
}

t.test('depth: the message is level 1; MAX_JSON_DEPTH levels fit, one more is invalid_message with the mid as ref', async (t) => {
  t.equal(codeOf(`{"id":"c","status":"succeeded","result":${nest(MAX_JSON_DEPTH - 1)}}`), 'ok');
  t.equal(codeOf(`{"id":"c","status":"succeeded","result":${nest(MAX_JSON_DEPTH)}}`), 'invalid_message');
  t.equal(codeOf(`{"id":"c","status":"succeeded","x":{"y":${nest(100_000)}}}`), 'invalid_message', 'deep unknown fields too, without a stack overflow');
  t.equal(codeOf(`{"id":"c","status":"succeeded","result":"${'['.repeat(1000)}\\"${'{'.repeat(1000)}"}`), 'ok', 'brackets inside strings do not count');
  const err = t.throws(() => decodeDeviceMessage(`{"mid":7,"id":"c","status":"failed","r":${nest(64)}}`, { impliedType: 'result' })) as ProtocolError;
  t.equal(err.ref, 7);
  t.equal(err.message, `message does not match the schema: JSON nested deeper than ${MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)`);
});

t.test('bytes: strict UTF-8, a BOM refused, multi-byte characters kept', async (t) => {
  const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
  t.equal(codeOf(bytes('{"id":"c","status":"failed","error":"', [0xc3, 0x28], '"}')), 'bad_json', 'a broken two-byte sequence');
  t.equal(codeOf(bytes('{"id":"c","status":"failed","error":"', [0xed, 0xa0, 0x80], '"}')), 'bad_json', 'an encoded surrogate');
  t.equal(codeOf(bytes('{"id":"c","status":"failed","error":"', [0xc0, 0xaf], '"}')), 'bad_json', 'an overlong encoding');
  t.equal(codeOf(bytes([0xef, 0xbb, 0xbf], '{"id":"c","status":"failed"}')), 'bad_json', 'a byte order mark');
  const msg = decodeDeviceMessage(bytes('{"id":"c","status":"failed","error":"café ☕ 🌡"}'), { impliedType: 'result' });
  t.equal((msg as { error?: string }).error, 'café ☕ 🌡');
});
