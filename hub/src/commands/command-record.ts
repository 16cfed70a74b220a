/** A command as the service and its store hold it, and its API view. */
import type { CommandState, CommandView } from '@iot-hub/protocol';

/** The API view plus what only the hub needs. */
export interface CommandRecord extends CommandView {
  /** Creation order across the whole hub (the SQLite rowid); 0 until inserted. */
  seq: number;
  /** When it was first written to a device connection: the timeout counts from here. */
  sentAt: number | null;
}

/** Records are replaced, never mutated, so a failed write leaves memory as it was. */
export function withState(record: CommandRecord, state: CommandState, now: number, patch: Partial<CommandRecord> = {}): CommandRecord {
  return { ...record, ...patch, state, transitions: [...record.transitions, { state, at: now }], updatedAt: now };
}

export function toView(r: CommandRecord): CommandView {
  const { seq: _seq, sentAt: _sentAt, ...view } = r;
  return view;
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` compare equal (idempotent retries). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
