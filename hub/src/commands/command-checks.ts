/**
 * What the command service checks on input before anything is stored or
 * sent: a request against what the device declared [FP-4.1], an idempotent
 * retry against the command it repeats, and page cursors.
 */
import { MAX_PAYLOAD_BYTES, ProtocolError, commandProblem, hubMessageBytes, type CommandRequest } from '@iot-hub/protocol';
import { deviceMessageLimit } from '../registry/capabilities.js';
import type { DeviceRecord } from '../registry/registry-store.js';
import { canonicalJson, type CommandRecord } from './command-record.js';
import { commandMessage } from './command-transitions.js';

/**
 * The command must be one the device declared, with parameters that match
 * its spec, and must not have expired already. Returns the expiry to store
 * (the request's, or now + the default).
 */
export function checkRequest(device: DeviceRecord, request: CommandRequest, params: Record<string, unknown>, now: number, defaultExpiryMs: number): { expiresAt: number } {
  const declared = device.capabilities?.commands;
  if (!declared) throw new ProtocolError('commands_unknown', `device ${JSON.stringify(device.id)} has not sent hello yet [FP-4.1]`);
  if (!Object.hasOwn(declared, request.name)) {
    const names = Object.keys(declared);
    throw new ProtocolError('unknown_command', `${JSON.stringify(request.name)}: device ${JSON.stringify(device.id)} declares ${names.length === 0 ? 'no commands' : names.join(', ')}`);
  }
  const problem = commandProblem(declared, request.name, params);
  if (problem !== undefined) throw new ProtocolError('invalid_params', problem);
  const expiresAt = request.expiresAt ?? now + defaultExpiryMs;
  if (expiresAt <= now) throw new ProtocolError('command_expired', `expiresAt ${expiresAt} is not after the hub's time ${now}`);
  return { expiresAt };
}

/** What the device would receive must fit the protocol's limit and the device's buffer, checked before anything is stored [FP-7.2]. */
export function checkMessageSize(device: DeviceRecord, draft: CommandRecord): void {
  const bytes = hubMessageBytes(commandMessage(draft));
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new ProtocolError('payload_too_large', `the command would reach the device as ${bytes} bytes, over the ${MAX_PAYLOAD_BYTES} the protocol allows: send shorter params`);
  }
  const limit = deviceMessageLimit(device.capabilities);
  if (bytes > limit) {
    throw new ProtocolError('too_large_for_device', `the command would reach the device as ${bytes} bytes, over the ${limit} bytes device ${JSON.stringify(device.id)} can receive (hello.maxMessageBytes): send shorter params`);
  }
}

/** An idempotent retry repeats the name and params (in any key order); timeoutMs and expiresAt are the first request's. */
export function sameRequest(existing: CommandRecord, name: string, params: Record<string, unknown>): boolean {
  return existing.name === name && canonicalJson(existing.params) === canonicalJson(params);
}

/** Page cursors are opaque to clients: the creation seq of the last command shown. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`s${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^s\d{1,15}$/.test(text) || encodeCursor(Number(text.slice(1))) !== cursor) {
    throw new ProtocolError('bad_request', `before must be the "next" of a previous page, got ${JSON.stringify(cursor)}`);
  }
  return Number(text.slice(1));
}
