/**
 * Desired vs reported state for the device page's table. The hub keeps in
 * `desired` only what the device has not confirmed yet (a key leaves once the
 * device reports the same value), and in `delta` the desired keys whose
 * reported value still differs.
 */
import type { DeviceStateView, StateEntry, StateValue } from '@iot-hub/protocol';

export type StateRowStatus =
  /** Nothing desired for this key: the device's report is all there is. */
  | 'in-sync'
  /** A desired value the device reports differently: waiting for the device to apply it. */
  | 'pending'
  /** Desired and last reported are equal, but the report predates the request: waiting for the device to confirm. */
  | 'confirming';

export interface StateRow {
  key: string;
  reported: StateEntry | undefined;
  desired: StateEntry | undefined;
  status: StateRowStatus;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** One row per key that is reported or desired, pending ones first, then by name. */
export function stateRows(view: DeviceStateView): StateRow[] {
  const keys = new Set([...Object.keys(view.reported), ...Object.keys(view.desired)]);
  const rows: StateRow[] = [];
  for (const key of keys) {
    const desired = Object.hasOwn(view.desired, key) ? view.desired[key] : undefined;
    const reported = Object.hasOwn(view.reported, key) ? view.reported[key] : undefined;
    const status: StateRowStatus = desired === undefined ? 'in-sync' : Object.hasOwn(view.delta, key) ? 'pending' : 'confirming';
    rows.push({ key, reported, desired, status });
  }
  const rank = (row: StateRow) => (row.status === 'in-sync' ? 1 : 0);
  return rows.sort((a, b) => rank(a) - rank(b) || collator.compare(a.key, b.key));
}

/** Keys still waiting for the device. */
export function pendingCount(view: DeviceStateView): number {
  return Object.keys(view.desired).length;
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

/** `on`, `21.5`, `"eco"`: a state value as the table shows it. */
export function formatStateValue(value: StateValue | undefined): string {
  if (value === undefined) return '—';
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'string') return value;
  return String(value);
}
