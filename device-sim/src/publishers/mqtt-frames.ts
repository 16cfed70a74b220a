/**
 * Splits a TCP byte stream into MQTT control packets [MQTT-2.2]: a type
 * byte, the remaining length as a 1-4 byte varint, then the body. Used by
 * the lean hand-written clients (the load publisher here, the benchmarks'
 * subscriber and idle devices), which keep the partial packet a chunk ends
 * with and pass it back in with the next chunk.
 */
export class MqttFrames {
  #rest: Buffer | undefined;

  /** Calls `onPacket(firstByte, body)` for every whole packet so far, in order. */
  push(chunk: Buffer, onPacket: (first: number, body: Buffer) => void): void {
    const buf = this.#rest ? Buffer.concat([this.#rest, chunk]) : chunk;
    this.#rest = undefined;
    let offset = 0;
    for (;;) {
      if (buf.length - offset < 2) break;
      let length = 0;
      let multiplier = 1;
      let at = offset + 1;
      let complete = false;
      for (let i = 0; i < 4 && at < buf.length; i++) {
        const byte = buf[at++] as number;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || at + length > buf.length) break;
      onPacket(buf[offset] as number, buf.subarray(at, at + length));
      offset = at + length;
    }
    // Copy the partial packet so the big chunk it came in can be freed.
    if (offset < buf.length) this.#rest = Buffer.from(buf.subarray(offset));
  }
}
