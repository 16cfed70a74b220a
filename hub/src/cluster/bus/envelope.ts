/**
 * The JSON envelope of every bus message:
 * `{"from": nodeId, "boot": id, "seq": n, "lost": t?, "items": [...]}`.
 *
 * - `seq` counts the messages one process (`boot`) built for one channel,
 *   so a receiver that sees n+2 after n knows one went missing.
 * - `lost`, when present, is the time (Redis clock, ms) of the sender's
 *   latest item that never reached Redis (Redis was down, the send backlog
 *   was full, a PUBLISH failed) and that no earlier delivered message
 *   reported. A receiver that started listening before that time missed
 *   something; one that started after did not (see bus-receiver.ts).
 *
 * The sender writes the head itself so that the key order is fixed: a
 * node recognises its own messages by their first bytes, without parsing.
 */

/** Bytes kept free in a message for its head; node id and boot are at most 64 characters each. */
export const HEAD_RESERVE_BYTES = 256;

export interface Envelope {
  from: string;
  boot: string;
  seq: number;
  lost?: number;
  items: unknown[];
}

/** The text every message from `nodeId` starts with. */
export function ownPrefix(nodeId: string): string {
  return `{"from":${JSON.stringify(nodeId)},`;
}

/** The envelope up to the items' opening bracket; close with `]}`. */
export function envelopeHead(from: string, boot: string, seq: number, lost: number | null): string {
  const lostPart = lost === null ? '' : `,"lost":${lost}`;
  return `{"from":${JSON.stringify(from)},"boot":${JSON.stringify(boot)},"seq":${seq}${lostPart},"items":[`;
}

/** The envelope, or null when the text is not one (another program on the channel, or a bug). */
export function parseEnvelope(text: string): Envelope | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const e = value as Record<string, unknown>;
  if (typeof e.from !== 'string' || typeof e.boot !== 'string' || !Number.isSafeInteger(e.seq) || !Array.isArray(e.items)) return null;
  if (e.lost !== undefined && typeof e.lost !== 'number') return null;
  return e as unknown as Envelope;
}
