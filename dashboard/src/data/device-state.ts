/**
 * Desired vs reported state for the device page's table [FP-4.3]. The hub
 * keeps in `desired` what operators set until an operator removes it
 * (shadow semantics), in `delta` the desired keys whose reported value
 * differs, and in `refused` the desired keys the device said it cannot
 * apply. A device that declared state keys in `hello` (Capabilities.state)
 * says which of them operators may set; one that declared none takes any.
 */
import type { Capabilities, DeviceStateView, RefusedEntry, StateEntry, StateKeySpec, StateValue } from '@iot-hub/protocol';

export type StateRowStatus =
  /** Reported equals desired. */
  | 'in-sync'
  /** A desired value the device does not report (yet): the delta. */
  | 'pending'
  /** A desired value the device said it cannot apply, with its reason: it will not become in sync by waiting. */
  | 'refused'
  /** No desired value: the device's report is all there is. */
  | 'reported'
  /** Declared in `hello`, neither reported nor desired yet. */
  | 'declared';

export interface StateRow {
  key: string;
  reported: StateEntry | undefined;
  desired: StateEntry | undefined;
  /** The device's refusal of the desired value, while it stands. */
  refused: RefusedEntry | undefined;
  /** The key's declaration, if the device declared it. */
  spec: StateKeySpec | undefined;
  /** Whether the table offers to set a desired value. */
  settable: boolean;
  status: StateRowStatus;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Keys that need the operator's eye first. */
const RANK: Record<StateRowStatus, number> = { refused: 0, pending: 1, 'in-sync': 2, reported: 2, declared: 2 };

/**
 * Whether the table offers "Set…" for `key`: only the keys a device
 * declared settable, when it declared state keys; any key when it declared
 * none (1.0 devices), as the hub accepts then.
 */
export function canSetKey(key: string, capabilities: Capabilities | null | undefined): boolean {
  const declared = capabilities?.state;
  if (declared === undefined) return true;
  return Object.hasOwn(declared, key) && declared[key]?.settable === true;
}

function statusOf(reported: StateEntry | undefined, desired: StateEntry | undefined, refused: RefusedEntry | undefined): StateRowStatus {
  if (desired === undefined) return reported === undefined ? 'declared' : 'reported';
  // The hub's delta rule: strict equality of JSON scalars.
  if (reported !== undefined && reported.value === desired.value) return 'in-sync';
  // The hub clears a refusal when the desired value changes; the value check guards a view caught in between.
  return refused !== undefined && refused.value === desired.value ? 'refused' : 'pending';
}

/** One row per key reported, desired or declared; refused then pending ones first, then by name. */
export function stateRows(view: DeviceStateView, capabilities: Capabilities | null = null): StateRow[] {
  const declared = capabilities?.state ?? {};
  const keys = new Set([...Object.keys(view.reported), ...Object.keys(view.desired), ...Object.keys(declared)]);
  const rows: StateRow[] = [];
  for (const key of keys) {
    const desired = own(view.desired, key);
    const reported = own(view.reported, key);
    const refused = own(view.refused, key);
    const status = statusOf(reported, desired, refused);
    rows.push({ key, reported, desired, refused: status === 'refused' ? refused : undefined, spec: own(declared, key), settable: canSetKey(key, capabilities), status });
  }
  return rows.sort((a, b) => RANK[a.status] - RANK[b.status] || collator.compare(a.key, b.key));
}

export interface StateSummary {
  /** Desired keys the device has not reached yet and did not refuse. */
  pending: number;
  /** Desired keys the device refused. */
  refused: number;
}

export function stateSummary(rows: readonly StateRow[]): StateSummary {
  let pending = 0;
  let refused = 0;
  for (const row of rows) {
    if (row.status === 'pending') pending++;
    else if (row.status === 'refused') refused++;
  }
  return { pending, refused };
}

/** `in sync`, `2 pending`, `1 pending, 1 refused`. */
export function formatSummary(summary: StateSummary): string {
  const parts: string[] = [];
  if (summary.pending > 0) parts.push(`${summary.pending} pending`);
  if (summary.refused > 0) parts.push(`${summary.refused} refused`);
  return parts.length === 0 ? 'in sync' : parts.join(', ');
}

/**
 * Whether an answer to our own request (a GET, a PATCH) may replace the view
 * we hold. Live `state` events come in order and always win; an answer may
 * be older than an event that overtook it, so it replaces the view only when
 * it carries a newer desired version.
 */
export function answerIsNewer(current: DeviceStateView | null, answer: DeviceStateView): boolean {
  return current === null || answer.version > current.version;
}

/** `on`, `21.5`, `21.5 °C`, `eco`: a state value as the table shows it, with the declared unit. */
export function formatStateValue(value: StateValue | undefined, unit?: string): string {
  if (value === undefined) return '—';
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'string') return value;
  return unit === undefined ? String(value) : `${value} ${unit}`;
}

/** A value by a device-chosen name: own keys only, so `constructor` is not Object's. */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
