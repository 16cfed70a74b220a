/** A command as the service and its store hold it, and its API view. */
import type { CommandState, CommandTransition, CommandView, LateResult } from '@iot-hub/protocol';

export interface CommandRecord {
  /** Creation order across the whole hub (the SQLite rowid); 0 until inserted. */
  seq: number;
  id: string;
  deviceId: string;
  name: string;
  params: Record<string, unknown>;
  state: CommandState;
  transitions: CommandTransition[];
  createdAt: number;
  updatedAt: number;
  timeoutMs: number;
  expiresAt: number;
  /** When it was first written to a device connection: the timeout counts from here. */
  sentAt: number | null;
  deliveries: number;
  result?: unknown;
  error?: string;
  late?: LateResult[];
  issuedBy: string;
  idempotencyKey?: string;
}

/** Records are replaced, never mutated, so a failed write leaves memory as it was. */
export function withState(record: CommandRecord, state: CommandState, now: number, patch: Partial<CommandRecord> = {}): CommandRecord {
  return { ...record, ...patch, state, transitions: [...record.transitions, { state, at: now }], updatedAt: now };
}

export function toView(r: CommandRecord): CommandView {
  const view: CommandView = {
    id: r.id,
    deviceId: r.deviceId,
    name: r.name,
    params: r.params,
    state: r.state,
    transitions: r.transitions,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    timeoutMs: r.timeoutMs,
    expiresAt: r.expiresAt,
    deliveries: r.deliveries,
    issuedBy: r.issuedBy,
  };
  if (r.result !== undefined) view.result = r.result;
  if (r.error !== undefined) view.error = r.error;
  if (r.late !== undefined) view.late = r.late;
  if (r.idempotencyKey !== undefined) view.idempotencyKey = r.idempotencyKey;
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
