/** What ThreadedSqliteTelemetryStore and its worker thread say to each other. */
import type { HistoryQuery } from '../telemetry-store.js';
import type { SeriesDefinition } from '../series-catalog.js';

export interface StoreWorkerData {
  file: string;
  fullSync: boolean;
  /** The thread that owns and writes the file, or one that only answers history reads on a read-only connection. */
  role: 'writer' | 'reader';
}

/** One operation of the store. */
export type StoreRequest =
  | { op: 'open' }
  | { op: 'writeRows'; series: SeriesDefinition[]; rows: Float64Array }
  | { op: 'history'; query: HistoryQuery }
  /** Writer: move the journal, so a reader on another connection sees every write committed before. */
  | { op: 'settle' }
  | { op: 'latest'; deviceId: string }
  | { op: 'deleteDevice'; deviceId: string }
  | { op: 'close' };

/** A request as posted to the worker: `call` numbers it, and the reply carries the number back. */
export type StoreCall = StoreRequest & { call: number };

export type StoreReply = { call: number } & ({ ok: true; value: unknown } | { ok: false; error: { name: string; message: string } });

/** Not a reply: the worker's background checkpoint failed. */
export interface StoreEvent {
  checkpointError: string;
}
