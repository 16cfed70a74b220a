/**
 * The rules of a command's life as pure functions of its record: what a
 * delivery, a device result or the passing of time turns it into. Both
 * command services (SQLite, PostgreSQL) decide with these, so they cannot
 * drift apart; they differ only in how a change is written and announced.
 */
import type { CommandMessage, CommandRequest, CommandState, LateResult, ResultMessage } from '@iot-hub/protocol';
import type { ResultDisposition } from './commands.js';
import { canonicalJson, withState, type CommandRecord } from './command-record.js';

export const PENDING_STATES: ReadonlySet<CommandState> = new Set(['queued', 'sent', 'acknowledged']);
export const ALL_STATES: readonly CommandState[] = ['queued', 'sent', 'acknowledged', 'succeeded', 'failed', 'timed_out', 'expired', 'cancelled'];
/** Late results kept per command: enough to see what a device did, bounded against one that loops. */
export const MAX_LATE_RESULTS = 10;

export function isPending(r: CommandRecord): boolean {
  return PENDING_STATES.has(r.state);
}

/** A new command as stored before anything else happens to it: queued, never delivered. */
export function newCommand(input: {
  id: string;
  deviceId: string;
  request: CommandRequest;
  params: Record<string, unknown>;
  expiresAt: number;
  timeoutMs: number;
  actor: string;
  idempotencyKey: string | undefined;
  now: number;
}): CommandRecord {
  const { now } = input;
  const draft: CommandRecord = {
    seq: 0,
    id: input.id,
    deviceId: input.deviceId,
    name: input.request.name,
    params: input.params,
    state: 'queued',
    transitions: [{ state: 'queued', at: now }],
    createdAt: now,
    updatedAt: now,
    timeoutMs: input.timeoutMs,
    expiresAt: input.expiresAt,
    sentAt: null,
    deliveries: 0,
    issuedBy: input.actor,
  };
  if (input.idempotencyKey !== undefined) draft.idempotencyKey = input.idempotencyKey;
  return draft;
}

export function commandMessage(r: CommandRecord): CommandMessage {
  return { v: 1, type: 'command', id: r.id, name: r.name, params: r.params, expiresAt: r.expiresAt };
}

/** The command written to a connection: a queued one becomes sent (the timeout starts), a sent one counts one more delivery. */
export function delivered(r: CommandRecord, now: number): CommandRecord {
  return r.state === 'queued' ? withState(r, 'sent', now, { sentAt: now, deliveries: r.deliveries + 1 }) : { ...r, deliveries: r.deliveries + 1 };
}

/** When a pending command falls due: its expiry while queued, its timeout (from the first send) once sent; null if ended. */
export function dueAt(r: CommandRecord): number | null {
  if (r.state === 'queued') return r.expiresAt;
  if ((r.state === 'sent' || r.state === 'acknowledged') && r.sentAt !== null) return r.sentAt + r.timeoutMs;
  return null;
}

/** The ended version of a command whose expiry or timeout has passed, else null. */
export function overdue(r: CommandRecord, now: number): CommandRecord | null {
  if (r.state === 'queued' && now >= r.expiresAt) {
    return withState(r, 'expired', now, { error: `not delivered before expiresAt ${new Date(r.expiresAt).toISOString()}: the device did not connect in time` });
  }
  if ((r.state === 'sent' || r.state === 'acknowledged') && r.sentAt !== null && now >= r.sentAt + r.timeoutMs) {
    const what = r.state === 'acknowledged' ? 'the device acknowledged it but sent no final result' : 'the device neither acknowledged nor answered';
    return withState(r, 'timed_out', now, { error: `${what} within ${r.timeoutMs} ms of the first delivery` });
  }
  return null;
}

/**
 * What a device's `result` [FP-4.5] does to the command it names (`r`, as
 * stored, or undefined if unknown): a pending command moves on; a repeat of
 * its acknowledgement or final result changes nothing; a result for a
 * command the hub ended is kept as late (bounded, repeats once).
 */
export function resultOutcome(r: CommandRecord | undefined, deviceId: string, message: ResultMessage, now: number): { disposition: ResultDisposition; next?: CommandRecord } {
  if (!r || r.deviceId !== deviceId) return { disposition: 'ignored' };
  if (isPending(r)) {
    if (message.status === 'acknowledged') {
      if (r.state === 'acknowledged') return { disposition: 'duplicate' };
      return { disposition: 'applied', next: withState(r, 'acknowledged', now, r.sentAt === null ? { sentAt: now } : {}) };
    }
    const patch: Partial<CommandRecord> = {};
    if (message.status === 'succeeded' && message.result !== undefined) patch.result = message.result;
    if (message.error !== undefined) patch.error = message.error;
    return { disposition: 'applied', next: withState(r, message.status, now, patch) };
  }
  // Ended by the device itself: this is its repeated answer (a lost ack, a redelivery).
  if (r.state === 'succeeded' || r.state === 'failed') return { disposition: 'duplicate' };
  const late: LateResult = { status: message.status, at: now };
  if (message.result !== undefined) late.result = message.result;
  if (message.error !== undefined) late.error = message.error;
  const kept = r.late ?? [];
  if (kept.length >= MAX_LATE_RESULTS || kept.some((l) => sameLate(l, late))) return { disposition: 'duplicate' };
  return { disposition: 'late', next: { ...r, late: [...kept, late] } };
}

function sameLate(a: LateResult, b: LateResult): boolean {
  return a.status === b.status && a.error === b.error && canonicalJson(a.result) === canonicalJson(b.result);
}
