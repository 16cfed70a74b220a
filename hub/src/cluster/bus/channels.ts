/**
 * The bus's Redis channel names. Only exact channels, a fixed handful per
 * node: one inbox per node and one channel per event kind. Never a channel
 * or a pattern per device: Redis checks every PUBLISH against every
 * pattern (measured here: 10,000 patterns cut PUBLISH/s from 609,756 to
 * 1,829), and a channel per device would mean a SUBSCRIBE per device.
 */

/** Node ids and kinds become part of channel and client names: letters, digits, `.`, `_`, `-`. */
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** A prefix may also hold `:` (`acme:iot-hub`). */
const PREFIX = /^[A-Za-z0-9._:-]{1,64}$/;

/** The kind a resync names for the node's own inbox. */
export const INBOX = 'inbox';

export function checkName(what: string, name: string): string {
  if (!NAME.test(name)) throw new TypeError(`${what} ${JSON.stringify(name.slice(0, 80))} must be 1-64 letters, digits, ".", "_" or "-"`);
  return name;
}

export function checkPrefix(prefix: string): string {
  if (!PREFIX.test(prefix)) throw new TypeError(`bus prefix ${JSON.stringify(prefix.slice(0, 80))} must be 1-64 letters, digits, ".", "_", ":" or "-"`);
  return prefix;
}

/** Messages to one node: `<prefix>:node:<nodeId>:inbox`. */
export function inboxChannel(prefix: string, nodeId: string): string {
  return `${prefix}:node:${nodeId}:inbox`;
}

/** Live events of one kind from every node: `<prefix>:events:<kind>`. */
export function eventChannel(prefix: string, kind: string): string {
  return `${prefix}:events:${kind}`;
}
