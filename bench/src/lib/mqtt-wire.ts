/**
 * MQTT 3.1.1 encoding for the benchmarks' hand-written clients (the
 * overload flooder, idle devices, the relay subscriber): the primitives,
 * and the few packets the flooder writes: CONNECT, PUBLISH (QoS 0) and
 * SUBSCRIBE. Encoded once, then written as raw bytes, so the flooder costs
 * almost nothing per message and has no flow control at all (no client
 * library in the way).
 */

/** Control packet types [MQTT-2.2.1]. */
export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const PINGREQ = 12;
export const DISCONNECT = 14;

/** The remaining-length field [MQTT-2.2.3]. */
export function varint(n: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return bytes;
}

/** A UTF-8 string with its 16-bit length [MQTT-1.5.3]. */
export function str(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(2 + body.length);
  out.writeUInt16BE(body.length, 0);
  body.copy(out, 2);
  return out;
}

/** A whole packet: first byte, remaining length, then the parts. */
export function packet(firstByte: number, parts: readonly Buffer[]): Buffer {
  const length = parts.reduce((n, p) => n + p.length, 0);
  return Buffer.concat([Buffer.from([firstByte, ...varint(length)]), ...parts]);
}

/** A will published at QoS 1, retained, when the connection is lost [MQTT-3.1.2.5]. */
export interface RetainedWill {
  topic: string;
  payload: string;
}

/** CONNECT with a clean session; keepalive 0 (no PINGREQ needed) unless given; a will if given [MQTT-3.1]. */
export function encodeConnect(clientId: string, username: string, password: string, keepaliveSec = 0, will?: RetainedWill): Buffer {
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(keepaliveSec);
  // flags: user name, password, clean session; with a will: will retain, will QoS 1, will
  const flags = 0x80 | 0x40 | 0x02 | (will ? 0x20 | (1 << 3) | 0x04 : 0);
  // protocol name, level 4 (3.1.1), flags, keepalive
  const header = Buffer.concat([str('MQTT'), Buffer.from([4, flags]), keepalive]);
  const willParts = will ? [str(will.topic), str(will.payload)] : [];
  return packet(CONNECT << 4, [header, str(clientId), ...willParts, str(username), str(password)]);
}

/** PUBLISH QoS 0, not retained: no packet id, no acknowledgement [MQTT-3.3]. */
export function encodePublishQos0(topic: string, payload: string): Buffer {
  return packet(0x30, [str(topic), Buffer.from(payload, 'utf8')]);
}

/** SUBSCRIBE to one filter at QoS 0 [MQTT-3.8]. */
export function encodeSubscribe(packetId: number, filter: string): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(packetId);
  return packet(0x82, [id, str(filter), Buffer.from([0])]);
}

/** `count` copies of `one` back to back: one write puts them all on the wire. */
export function repeat(one: Buffer, count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, () => one));
}
