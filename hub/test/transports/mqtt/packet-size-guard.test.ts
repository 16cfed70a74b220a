import t from 'tap';
import { PacketSizeTracker } from '../../../src/transports/mqtt/packet-size-guard.js';

/** Fixed header for a packet type byte and a remaining length [MQTT-2.2.3]. */
function header(remaining: number): number[] {
  const bytes = [0x30];
  do {
    let byte = remaining % 128;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) byte |= 0x80;
    bytes.push(byte);
  } while (remaining > 0);
  return bytes;
}

t.test('packets within the limit pass, across any chunking', async (t) => {
  const stream = Buffer.from([...header(3), 1, 2, 3, ...header(0), ...header(200), ...new Array<number>(200).fill(7)]);
  for (const size of [1, 2, 3, 7, stream.length]) {
    const tracker = new PacketSizeTracker(256);
    let result = -1;
    for (let i = 0; i < stream.length; i += size) result = Math.max(result, tracker.feed(stream.subarray(i, i + size)));
    t.equal(result, -1, `chunks of ${size}`);
  }
});

t.test('a declared length over the limit is caught from the header alone', async (t) => {
  const tracker = new PacketSizeTracker(1000);
  t.equal(tracker.feed(Buffer.from([...header(5), 1, 2, 3, 4, 5])), -1);
  // Only the header of a 268 MB packet arrives: caught before any payload,
  // as soon as the length bytes read so far pass the limit.
  const caught = tracker.feed(Buffer.from(header(268_435_455)));
  t.ok(caught > 1000 && caught <= 268_435_455, `caught at ${caught}`);
});

t.test('the length is caught even when split mid-varint', async (t) => {
  const tracker = new PacketSizeTracker(1000);
  const h = header(20_000);
  t.equal(tracker.feed(Buffer.from(h.slice(0, 2))), -1, 'first length byte alone is under the limit');
  const caught = tracker.feed(Buffer.from(h.slice(2)));
  t.ok(caught > 1000 && caught <= 20_000, `caught at ${caught} once the next length byte arrived`);
});

t.test('a malformed length of more than 4 bytes is refused', async (t) => {
  const tracker = new PacketSizeTracker(Number.MAX_SAFE_INTEGER);
  t.equal(tracker.feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01])), Number.MAX_SAFE_INTEGER);
});
