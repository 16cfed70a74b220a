/**
 * The thread that owns telemetry.db for ThreadedSqliteTelemetryStore: one
 * SqliteTelemetryStore, driven by messages. Calls run one at a time, in the
 * order they were posted, so a write posted before a read is in what the
 * read sees.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteTelemetryStore } from '../sqlite-telemetry-store.js';
import type { StoreCall, StoreEvent, StoreReply, StoreWorkerData } from './store-messages.js';

const port = parentPort;
if (!port) throw new Error('sqlite-store-worker runs as a worker thread of ThreadedSqliteTelemetryStore');
const { file, fullSync } = workerData as StoreWorkerData;
const store = new SqliteTelemetryStore({ file, fullSync }, (message) => port.postMessage({ checkpointError: message } satisfies StoreEvent));

async function run(call: StoreCall): Promise<unknown> {
  switch (call.op) {
    case 'open':
      await store.open();
      return store.listSeries();
    case 'writeRows':
      return store.writeRows(call.series, call.rows);
    case 'history':
      return store.history(call.query);
    case 'latest':
      return store.latest(call.deviceId);
    case 'deleteDevice':
      return store.deleteDevice(call.deviceId);
    case 'close':
      return store.close();
  }
}

let queue: Promise<void> = Promise.resolve();
port.on('message', (call: StoreCall) => {
  queue = queue.then(async () => {
    let reply: StoreReply;
    try {
      reply = { call: call.call, ok: true, value: await run(call) };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      reply = { call: call.call, ok: false, error: { name: e.name, message: e.message } };
    }
    port.postMessage(reply);
    if (call.op === 'close') port.close();
  });
});
