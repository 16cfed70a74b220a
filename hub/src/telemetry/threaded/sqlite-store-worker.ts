/**
 * The thread that owns telemetry.db for ThreadedSqliteTelemetryStore: one
 * SqliteTelemetryStore, driven by messages. Calls run one at a time, in the
 * order they were posted, so a write posted before a read is in what the
 * read sees.
 *
 * Group commit: the calls that arrived while the thread was busy are taken
 * together, and consecutive writes among them go in one transaction, one
 * commit, instead of one commit each. A commit is most of a small write's
 * cost, so under load the thread keeps up with more for less; with one
 * device waiting on its acks, the writes that queued behind a commit land
 * with the next one. Each write is still answered only once its commit is
 * done. When a merged transaction fails, its writes go again one by one, so
 * that only the bad one fails.
 *
 * The same file runs the reader thread (role `reader`): a read-only
 * connection that answers history reads only, so that a read over a long
 * range never holds up the writes queued behind it on the writer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SqliteTelemetryStore } from '../sqlite-telemetry-store.js';
import { prepareHistory, readHistory, type HistoryStatements } from '../sqlite-history.js';
import type { StoreCall, StoreEvent, StoreReply, StoreWorkerData } from './store-messages.js';

type WriteCall = Extract<StoreCall, { op: 'writeRows' }>;

if (!parentPort) throw new Error('sqlite-store-worker runs as a worker thread of ThreadedSqliteTelemetryStore');
const port = parentPort;
const { file, fullSync, role } = workerData as StoreWorkerData;
const store = new SqliteTelemetryStore({ file, fullSync }, (message) => port.postMessage({ checkpointError: message } satisfies StoreEvent));
let reader: { db: Database.Database; statements: HistoryStatements } | null = null;

async function run(call: Exclude<StoreCall, WriteCall>): Promise<unknown> {
  if (role === 'reader') return read(call);
  switch (call.op) {
    case 'open':
      await store.open();
      return store.listSeries();
    case 'history':
      return store.history(call.query);
    case 'settle':
      return store.moveAll();
    case 'latest':
      return store.latest(call.deviceId);
    case 'deleteDevice':
      return store.deleteDevice(call.deviceId);
    case 'close':
      return store.close();
  }
}

function read(call: Exclude<StoreCall, WriteCall>): unknown {
  switch (call.op) {
    case 'open': {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      reader = { db, statements: prepareHistory(db) };
      return [];
    }
    case 'history':
      if (!reader) throw new Error('the telemetry reader thread is not open');
      return readHistory(reader.statements, call.query);
    case 'close':
      reader?.db.close();
      reader = null;
      return undefined;
    default:
      throw new Error(`the telemetry reader thread does not do ${call.op}`);
  }
}

function failure(err: unknown): { name: string; message: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name, message: e.message };
}

/** Calls posted and not yet run, oldest first. */
let queue: StoreCall[] = [];
let draining = false;

port.on('message', (call: StoreCall) => {
  queue.push(call);
  if (draining) return;
  draining = true;
  // After the messages already delivered in this turn have been queued too.
  setImmediate(() => void drain());
});

async function drain(): Promise<void> {
  while (queue.length > 0) {
    const calls = queue;
    queue = [];
    // Consecutive writes gather here and commit together when another call (or the end) comes.
    let writes: WriteCall[] = [];
    for (const call of calls) {
      if (call.op === 'writeRows') {
        writes.push(call);
        continue;
      }
      if (writes.length > 0) writeTogether(writes);
      writes = [];
      if (!(await answer(call))) return;
    }
    if (writes.length > 0) writeTogether(writes);
  }
  draining = false;
}

/** Runs one call that is not a write and posts its reply; false once the store is closed. */
async function answer(call: Exclude<StoreCall, WriteCall>): Promise<boolean> {
  let reply: StoreReply;
  try {
    reply = { call: call.call, ok: true, value: await run(call) };
  } catch (err) {
    reply = { call: call.call, ok: false, error: failure(err) };
  }
  port.postMessage(reply);
  if (call.op !== 'close') return true;
  port.close();
  return false;
}

/** Commits so far; each write's reply carries the number of the commit that made it durable. */
let commits = 0;

function writeTogether(writes: readonly WriteCall[]): void {
  try {
    store.writeRowsTogether(writes);
    commits += 1;
    for (const w of writes) port.postMessage({ call: w.call, ok: true, value: commits } satisfies StoreReply);
  } catch (err) {
    // One bad write must not fail the others it was merged with: each goes again on its own.
    if (writes.length > 1) {
      for (const w of writes) writeTogether([w]);
      return;
    }
    port.postMessage({ call: (writes[0] as WriteCall).call, ok: false, error: failure(err) } satisfies StoreReply);
  }
}
