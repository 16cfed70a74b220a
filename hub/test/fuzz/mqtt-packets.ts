/**
 * Seeded MQTT byte streams for the wire fuzzer (issue 7): valid packets from
 * mqtt-packet's generate, and the ways a broken or hostile client gets them
 * wrong (flipped bits, wrong or huge remaining lengths, truncation, bad topic
 * UTF-8, QoS 3, reserved flags, random packet types, raw noise). Every
 * function is a pure function of the Rng it is given.
 */
import mqttPacket from 'mqtt-packet';
import { DEVICE_CHANNELS, HUB_CHANNELS } from '@iot-hub/protocol';
import { allExamples } from '../../../protocol/test/helpers/spec-examples.js';
import { type Rng, mutate } from '../../../protocol/test/helpers/fuzz-mutations.js';

const deviceExamples = allExamples.filter((e) => e.from === 'device');

/** Fixed header + remaining length [MQTT-2.2.3]: 7 bits a byte, high bit = more. */
export function frame(firstByte: number, body: Buffer, declaredLength = body.length): Buffer {
  const len: number[] = [];
  let n = declaredLength;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    len.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([firstByte & 0xff, ...len]), body]);
}

function utf8Field(bytes: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.length & 0xffff);
  return Buffer.concat([len, bytes]);
}

export function connectPacket(clientId: string, username: string, password: string, keepalive = 30): Buffer {
  return mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, username, password: Buffer.from(password), keepalive });
}

function publish(topic: string, payload: Buffer | string, qos: 0 | 1, messageId: number): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic, payload, qos, messageId: qos > 0 ? messageId : undefined, retain: false, dup: false } as mqttPacket.IPublishPacket);
}

/** A topic in the device's own namespace mostly; sometimes someone else's, a wildcard or junk. */
function topicFor(rng: Rng, id: string, ownChannel: string): string {
  if (rng.chance(0.8)) return `devices/${id}/${ownChannel}`;
  return rng.pick([
    `devices/${id}/${rng.pick([...DEVICE_CHANNELS, ...HUB_CHANNELS])}`,
    `devices/other/${rng.pick(DEVICE_CHANNELS)}`,
    `devices/${id}/#`,
    `devices/+/telemetry`,
    `devices/${id}/__proto__`,
    `devices/${id}/${'x'.repeat(rng.pick([300, 5000]))}`,
    `$SYS/broker`,
    '',
    '/',
    `devices/${id}`,
    `devices/${id}/telemetry/extra`,
  ]);
}

/** A well-formed PUBLISH whose payload is a seeded mutation of a spec example. */
export function jsonPublish(rng: Rng, id: string, messageId: number): Buffer {
  const example = rng.pick(deviceExamples);
  const { text } = mutate(example.json, rng.int(2 ** 32));
  const channel = example.topic?.split('/')[2] ?? rng.pick(DEVICE_CHANNELS);
  return publish(topicFor(rng, id, channel), text, rng.chance(0.3) ? 1 : 0, messageId);
}

function validPacket(rng: Rng, id: string, messageId: number): Buffer {
  switch (rng.int(6)) {
    case 0: return jsonPublish(rng, id, messageId);
    case 1: return mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic: topicFor(rng, id, rng.pick(HUB_CHANNELS)), qos: rng.pick([0, 1, 2] as const) }] });
    case 2: return mqttPacket.generate({ cmd: 'unsubscribe', messageId, unsubscriptions: [topicFor(rng, id, 'commands')] });
    case 3: return mqttPacket.generate({ cmd: 'pingreq' });
    case 4: return mqttPacket.generate({ cmd: 'puback', messageId });
    default: return publish(topicFor(rng, id, 'telemetry'), JSON.stringify({ seq: rng.int(1000), metrics: { f: rng.int(100) } }), rng.chance(0.5) ? 1 : 0, messageId);
  }
}

const BAD_UTF8 = [[0xc3, 0x28], [0xff], [0x00], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf], [0xef, 0xbf, 0xbf]];

type PacketMutation = (rng: Rng, id: string, messageId: number) => Buffer;

/** Each names how a client gets the framing wrong; the hub may close the connection on any of them. */
export const packetMutations: Record<string, PacketMutation> = {
  bitFlip(rng, id, messageId) {
    const packet = Buffer.from(validPacket(rng, id, messageId));
    for (let i = 1 + rng.int(4); i > 0; i--) {
      const at = rng.int(packet.length);
      packet[at]! ^= 1 << rng.int(8);
    }
    return packet;
  },
  wrongRemainingLength(rng, id, messageId) {
    const valid = validPacket(rng, id, messageId);
    const body = valid.subarray(valid.length - Math.min(valid.length - 2, rng.int(valid.length)));
    return frame(valid[0]!, body, Math.max(0, body.length + rng.pick([-3, -1, 1, 2, 100, -body.length])));
  },
  truncated(rng, id, messageId) {
    const valid = validPacket(rng, id, messageId);
    return valid.subarray(0, 1 + rng.int(valid.length - 1));
  },
  badTopicUtf8(rng, id, messageId) {
    const topic = Buffer.concat([Buffer.from(`devices/${id}/`), Buffer.from(rng.pick(BAD_UTF8)), Buffer.from('telemetry')]);
    const subscribe = rng.chance(0.3);
    if (subscribe) {
      const mid = Buffer.from([messageId >> 8, messageId & 0xff]);
      return frame(0x82, Buffer.concat([mid, utf8Field(topic), Buffer.from([0])]));
    }
    return frame(0x30, Buffer.concat([utf8Field(topic), Buffer.from('{"seq":1,"metrics":{"t":1}}')]));
  },
  qos3(rng, id) {
    const body = Buffer.concat([utf8Field(Buffer.from(`devices/${id}/telemetry`)), Buffer.from([0, 1]), Buffer.from('{"seq":1}')]);
    return frame(0x36 | (rng.chance(0.5) ? 0x08 : 0) | (rng.chance(0.5) ? 0x01 : 0), body);
  },
  hugeDeclaredLength(rng) {
    // Up to the MQTT maximum (268,435,455) and one varint byte too many; only a few bytes follow.
    const firstByte = rng.pick([0x30, 0x32, 0x82, 0xc0, 0x10]);
    if (rng.chance(0.3)) return Buffer.from([firstByte, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3]);
    return frame(firstByte, Buffer.from(Array.from({ length: rng.int(16) }, () => rng.int(256))), rng.pick([268_435_455, 16_777_216, 1_000_000, 65_536 * 2]));
  },
  reservedFlags(rng, id, messageId) {
    // SUBSCRIBE/UNSUBSCRIBE/PUBREL must carry flags 0010, PINGREQ 0000 [MQTT-2.2.2-1].
    const valid = Buffer.from(validPacket(rng, id, messageId));
    valid[0] = (valid[0]! & 0xf0) | rng.int(16);
    return valid;
  },
  randomType(rng) {
    const body = Buffer.from(Array.from({ length: rng.int(64) }, () => rng.int(256)));
    return frame(rng.int(256), body);
  },
  secondConnect(rng, id) {
    return connectPacket(rng.chance(0.5) ? id : `other-${rng.int(1000)}`, id, 'x');
  },
  randomBytes(rng) {
    return Buffer.from(Array.from({ length: 1 + rng.int(256) }, () => rng.int(256)));
  },
};

/** One packet of a connected session: mostly well-formed JSON PUBLISHes, sometimes a valid control packet or broken framing. */
export function sessionPacket(rng: Rng, id: string, messageId: number): { kind: string; bytes: Buffer } {
  const roll = rng.next();
  if (roll < 0.7) return { kind: 'jsonPublish', bytes: jsonPublish(rng, id, messageId) };
  if (roll < 0.85) return { kind: 'valid', bytes: validPacket(rng, id, messageId) };
  const name = rng.pick(Object.keys(packetMutations));
  return { kind: name, bytes: packetMutations[name]!(rng, id, messageId) };
}
