/**
 * Hub-issued command ids: `cmd_` + 26 characters of Crockford base32, the
 * first 10 the creation time in ms and the last 16 random (80 bits), as in a
 * ULID. They sort by creation time and stay unique without coordination;
 * within one millisecond (or if the clock steps back) the random part is
 * incremented so ids of one hub still increase. 30 characters, well under the
 * 64 a device must accept [FP-4.4].
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_BYTES = 10;

export const COMMAND_ID_PREFIX = 'cmd_';

export class CommandIdGenerator {
  private lastTime = -1;
  private random = new Uint8Array(RANDOM_BYTES);

  next(now = Date.now()): string {
    if (now > this.lastTime) {
      this.lastTime = now;
      this.random = randomBytes(RANDOM_BYTES);
    } else {
      increment(this.random);
    }
    return COMMAND_ID_PREFIX + encodeTime(this.lastTime) + encodeBits(this.random);
  }
}

function encodeTime(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < TIME_CHARS; i += 1) {
    out = ALPHABET.charAt(rest % 32) + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/** 80 bits → 16 characters, 5 bits each, most significant first. */
function encodeBits(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET.charAt((buffer >> bits) & 31);
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

function increment(bytes: Uint8Array): void {
  for (let i = bytes.length - 1; i >= 0; i -= 1) {
    const value = (bytes[i] ?? 0) + 1;
    bytes[i] = value & 0xff;
    if (value <= 0xff) return;
  }
}
