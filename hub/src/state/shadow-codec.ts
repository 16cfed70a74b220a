/**
 * A shadow's maps as the text the stores keep (SQLite and PostgreSQL alike):
 * JSON arrays of tuples, compact, and no object key can be special
 * (`__proto__` is a valid state key). JSON.stringify escapes U+0000, which
 * PostgreSQL text could not hold raw.
 */
import type { RefusedEntry, StateEntry } from '@iot-hub/protocol';
import type { Shadow } from './shadow.js';

/** Entries as a JSON array of [key, value, ts]. */
export function encodeEntries(entries: Map<string, StateEntry>): string {
  return JSON.stringify([...entries].map(([key, e]) => [key, e.value, e.ts]));
}

export function decodeEntries(json: string): Map<string, StateEntry> {
  const rows = JSON.parse(json) as [string, StateEntry['value'], number][];
  return new Map(rows.map(([key, value, ts]) => [key, { value, ts }]));
}

/** Refusals as a JSON array of [key, reason, value, ts]. */
export function encodeRefused(entries: Map<string, RefusedEntry>): string {
  return JSON.stringify([...entries].map(([key, e]) => [key, e.reason, e.value, e.ts]));
}

export function decodeRefused(json: string): Map<string, RefusedEntry> {
  const rows = JSON.parse(json) as [string, string, RefusedEntry['value'], number][];
  return new Map(rows.map(([key, reason, value, ts]) => [key, { reason, value, ts }]));
}

/** A stored row's columns, as both stores name them. */
export interface ShadowColumns {
  version: number;
  reported_version: number | null;
  reported: string;
  desired: string;
  refused: string;
}

export function shadowFromColumns(r: ShadowColumns): Shadow {
  return { version: r.version, reportedVersion: r.reported_version, reported: decodeEntries(r.reported), desired: decodeEntries(r.desired), refused: decodeRefused(r.refused) };
}
