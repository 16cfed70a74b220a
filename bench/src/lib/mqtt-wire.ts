/**
 * The few MQTT 3.1.1 packets the overload flooder writes by hand: CONNECT,
 * PUBLISH (QoS 0) and SUBSCRIBE. Encoded once, then written as raw bytes, so
 * the flooder costs almost nothing per message and has no flow control at
 * all (no client library in the way).
 */

/** Control packet types [MQTT-2.2.1]. */
export const CONNACK = 2;

function varint(n: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return bytes;
}

function str(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([len, body]);
}

function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte, ...varint(body.length)]), body]);
}

/** CONNECT with a clean session; keepalive 0 (no PINGREQ needed) unless given [MQTT-3.1]. */
export function encodeConnect(clientId: string, username: string, password: string, keepaliveSec = 0): Buffer {
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(keepaliveSec);
  // protocol name, level 4 (3.1.1), flags: user name, password, clean session
  const header = Buffer.concat([str('MQTT'), Buffer.from([4, 0x80 | 0x40 | 0x02]), keepalive]);
  return packet(0x10, Buffer.concat([header, str(clientId), str(username), str(password)]));
}

/** PUBLISH QoS 0, not retained: no packet id, no acknowledgement [MQTT-3.3]. */
export function encodePublishQos0(topic: string, payload: string): Buffer {
  return packet(0x30, Buffer.concat([str(topic), Buffer.from(payload, 'utf8')]));
}

/** SUBSCRIBE to one filter at QoS 0 [MQTT-3.8]. */
export function encodeSubscribe(packetId: number, filter: string): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(packetId);
  return packet(0x82, Buffer.concat([id, str(filter), Buffer.from([0])]));
}

/** `count` copies of `one` back to back: one write puts them all on the wire. */
export function repeat(one: Buffer, count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, () => one));
}
