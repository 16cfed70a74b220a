/**
 * One WebSocket text frame, built once and written as is to every socket
 * that gets the event. A server's frames are not masked [RFC 6455 §5.1], so
 * the bytes are the same for every client: serialising and framing per
 * client (what `ws.send(string)` does) was the fan-out's cost per socket.
 */

/** FIN + opcode 0x1 (text) [RFC 6455 §5.2]. */
const FIN_TEXT = 0x81;

/** The complete unmasked text frame (header + UTF-8 payload) of `json`. */
export function encodeTextFrame(json: string): Buffer {
  const length = Buffer.byteLength(json);
  // Payload length: 7 bits, or 126 + 16 bits, or 127 + 64 bits [RFC 6455 §5.2].
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = FIN_TEXT;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(json, header, 'utf8');
  return frame;
}
