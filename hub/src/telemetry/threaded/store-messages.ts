/** What ThreadedSqliteTelemetryStore and its worker thread say to each other. */
import type { HistoryQuery } from '../telemetry-store.js';
import type { SeriesDefinition } from '../series-catalog.js';

export interface StoreWorkerData {
  file: string;
  fullSync: boolean;
}

/** One operation of the store. */
export type StoreRequest =
  | { op: 'open' }
  | { op: 'writeRows'; series: SeriesDefinition[]; rows: Float64Array }
  | { op: 'history'; query: HistoryQuery }
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
