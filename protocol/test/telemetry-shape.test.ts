/**
 * The decoder names what is wrong with the shape of a telemetry message
 * [FP-4.2]: a batch with `ts`, `age` or `seq` on the message says so (the
 * conformance runner and firmware authors read it), not "missing metrics".
 */
import t from 'tap';
import { ProtocolError, decodeDeviceMessage } from '@iot-hub/protocol';

function refusal(payload: unknown): string {
  try {
    decodeDeviceMessage(JSON.stringify(payload), { impliedType: 'telemetry' });
    return 'ok';
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return `${err.error}: ${err.message}`;
  }
}

t.test('a batch with ts, age or seq on the message: invalid_message naming the fields', async (t) => {
  const samples = [{ ts: 1764100000000, seq: 1, metrics: { temperature: 21.5 } }];
  const prefix = 'invalid_message: message does not match the schema: (message): a batch carries';
  t.equal(refusal({ ts: 1764100000000, samples }), `${prefix} "ts" on each sample, not on the message`);
  t.equal(refusal({ seq: 3, samples }), `${prefix} "seq" on each sample, not on the message`);
  t.equal(refusal({ age: 5, seq: 3, samples }), `${prefix} "age" and "seq" on each sample, not on the message`);
  t.equal(refusal({ samples }), 'ok', 'the same batch without them is fine');
  t.equal(refusal({ metrics: { a: 1 }, samples }), 'invalid_message: message does not match the schema: (message): must have exactly one of "metrics" or "samples"', 'both: as before');
});
