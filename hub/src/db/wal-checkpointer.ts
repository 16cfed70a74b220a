/**
 * Checkpoints a WAL-mode SQLite file from a worker thread.
 *
 * With `synchronous = NORMAL` a commit does not fsync; the checkpoint that
 * copies the WAL back into the database does, twice. SQLite runs it inside
 * whichever commit pushes the WAL past `wal_autocheckpoint` pages, so every
 * few hundred commits one command's round trip would wait for two fsyncs on
 * the event loop (1-20 ms on this kind of disk). A PASSIVE checkpoint every
 * interval from another thread keeps the WAL short, so the commits on the
 * event loop (ours, and the audit and state stores' on the same file) do not
 * reach that threshold. PASSIVE never blocks readers or writers; if it and
 * an automatic checkpoint meet, one of them simply skips.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Plain JavaScript, run with `eval`, so it needs no build step and works the
 * same from src/ (tsx) and dist/. better-sqlite3 is resolved by the parent.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(file: string, intervalMs: number, onError: (message: string) => void) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // No inherited loaders (tsx, test hooks): the source is plain JavaScript and starts faster without them.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { file, intervalMs, driver } });
    // Never what keeps the process alive.
    this.worker.unref();
    this.worker.on('message', (m: { error?: string }) => onError(m.error ?? 'unknown'));
    this.worker.on('error', (err) => onError(err.message));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Lets a checkpoint in progress finish, closes the worker's connection and waits for it to exit. */
  async stop(): Promise<void> {
    // Waiting on an unref'd worker would not keep the process alive: the await would never end.
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}
