/**
 * The embedded SQLite telemetry store, run on a worker thread of its own.
 *
 * On the event loop, SQLite cost the hub a fifth of its busy time at 13,000
 * msgs/s: the journal inserts, and the once-a-second move of the journal
 * into the clustered table, which held the loop (and with it every command,
 * dashboard and device) for 60-100 ms. On its own thread that work runs on
 * the second core, and only a write's completion comes back to the loop.
 *
 * Only numbers cross the threads on the write path: this side numbers the
 * series (SeriesCatalog) and posts (series id, ts, value) triples in a
 * transferred Float64Array, with the definition of every series not yet
 * seen committed.
 *
 * Durability is the inner store's: a write resolves once its transaction has
 * committed on the worker thread. If the thread dies, calls fail (devices
 * are not acknowledged, so they send again) and a new thread is started
 * after a wait that doubles while starts fail.
 */
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SeriesCatalog, type SeriesDefinition } from '../series-catalog.js';
import type { HistoryQuery, HistoryResult, StoredValue, TelemetryPoint, TelemetryStore } from '../telemetry-store.js';
import { ReaderThread } from './reader-thread.js';
import { WorkerCalls } from './worker-calls.js';
import type { StoreEvent, StoreReply, StoreRequest, StoreWorkerData } from './store-messages.js';

export interface ThreadedSqliteStoreOptions {
  file: string;
  /** synchronous=FULL: a committed write survives power loss too, at some write cost. */
  fullSync?: boolean;
  /** First wait before a dead thread is started again; it doubles after each failed start, up to 30 s (default 1 s). */
  restartDelayMs?: number;
}

export interface ThreadedSqliteStoreHooks {
  /** The thread's background WAL checkpoint failed (SQLite then checkpoints in line). */
  onCheckpointError?: (message: string) => void;
  /** The thread died, or failed to start again: writes fail (devices are not acknowledged) until it is back. */
  onThreadFailure?: (err: Error) => void;
  /** A new thread took over after a failure: writes work again. */
  onThreadRestarted?: () => void;
}

const MAX_RESTART_DELAY_MS = 30_000;

/**
 * How to start the worker: its file beside this one, .js from dist. When
 * the hub runs from source under tsx (tests), the worker is .ts, and Node 20
 * does not apply an inherited `--import=tsx` to a worker's entry, so a
 * one-line bootstrap registers tsx in the thread first.
 */
function workerEntry(workerData: StoreWorkerData): ConstructorParameters<typeof Worker> {
  const here = fileURLToPath(import.meta.url);
  const file = join(dirname(here), `sqlite-store-worker${extname(here)}`);
  if (extname(here) !== '.ts') return [file, { workerData }];
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(pathToFileURL(file).href)}))`;
  return [bootstrap, { eval: true, workerData, execArgv: [] }];
}

export class ThreadedSqliteTelemetryStore implements TelemetryStore {
  readonly kind = 'sqlite';
  /** The worker takes calls one at a time in the order they were posted. */
  readonly orderedWrites = 4;
  private worker: Worker | null = null;
  private readonly calls = new WorkerCalls(() => this.worker);
  /** Numbers series on this side (made at open() from what the database holds). */
  private catalog = new SeriesCatalog([]);
  /** Why the worker is gone, while it is: every call fails with it until a new thread is up. */
  private failure: Error | null = null;
  private commitCount = 0;
  private lastCommit = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly firstRestartDelayMs: number;
  /** The wait before the next start: doubles while starts fail. */
  private restartDelayMs: number;
  private closed = false;
  /** History reads run here, off the writer's thread (see ReaderThread). */
  private readonly reader: ReaderThread;
  /** open() succeeded: from then on a dead thread is started again (a failed open() is the caller's to report). */
  private opened = false;

  constructor(
    private readonly options: ThreadedSqliteStoreOptions,
    private readonly hooks: ThreadedSqliteStoreHooks = {},
  ) {
    this.firstRestartDelayMs = options.restartDelayMs ?? 1000;
    this.restartDelayMs = this.firstRestartDelayMs;
    this.reader = new ReaderThread(workerEntry, { file: options.file, fullSync: false, role: 'reader' });
  }

  async open(): Promise<void> {
    this.closed = false;
    await this.startWorker();
    this.opened = true;
  }

  /** A new thread on the file, its series loaded into a fresh catalog; rejects (with no thread left) if it cannot open the file. */
  private async startWorker(): Promise<void> {
    const workerData: StoreWorkerData = { file: this.options.file, fullSync: this.options.fullSync ?? false, role: 'writer' };
    const worker = new Worker(...workerEntry(workerData));
    this.worker = worker;
    this.lastCommit = 0;
    worker.unref();
    // Only this thread's events count: an old one's late 'exit' must not fail its successor.
    worker.on('message', (m: StoreReply | StoreEvent) => {
      if (this.worker === worker) this.onMessage(m);
    });
    worker.on('error', (err) => {
      if (this.worker === worker) this.fail(new Error(`the telemetry store thread failed: ${err.message}`));
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.fail(new Error(`the telemetry store thread exited (code ${code})`));
    });
    let defined: SeriesDefinition[];
    try {
      defined = (await this.calls.send(worker, { op: 'open' })) as SeriesDefinition[];
    } catch (err) {
      this.worker = null;
      await worker.terminate();
      throw err;
    }
    // Series numbered for writes that never committed are dropped with the old catalog. Calls
    // were refused until now (failure still set), so no write was numbered by the old one meanwhile.
    this.catalog = new SeriesCatalog(defined);
    this.failure = null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.opened = false;
    await this.reader.close();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const worker = this.worker;
    if (!worker) {
      this.failure = null;
      return;
    }
    try {
      if (!this.failure) await this.call({ op: 'close' });
    } finally {
      this.worker = null;
      this.failure = null;
      await worker.terminate();
      // A thread being started again when the store closed: its open call will get no reply.
      this.calls.rejectAll(new Error('the telemetry store was closed'));
    }
  }

  async write(points: readonly TelemetryPoint[]): Promise<void> {
    if (points.length === 0) return;
    const batch = this.catalog.encode(points);
    const commit = (await this.call({ op: 'writeRows', series: batch.series, rows: batch.rows }, [batch.rows.buffer])) as number;
    this.catalog.committed(batch);
    // Replies come in order, so a new number is a new commit.
    if (commit !== this.lastCommit) {
      this.lastCommit = commit;
      this.commitCount += 1;
    }
  }

  /** Transactions the thread committed for writes: fewer than the writes when it merged those that queued up. */
  get commits(): number {
    return this.commitCount;
  }

  /**
   * The writer moves its journal first (cheap: at most the writes since its
   * last move), so the read sees every write committed before the call;
   * the read itself runs on the reader thread, however long it takes.
   */
  async history(query: HistoryQuery): Promise<HistoryResult> {
    await this.call({ op: 'settle' });
    return this.reader.history(query);
  }

  async latest(deviceId: string): Promise<Record<string, StoredValue>> {
    return (await this.call({ op: 'latest', deviceId })) as Record<string, StoredValue>;
  }

  async deleteDevice(deviceId: string): Promise<void> {
    // Forgotten first: a write after this numbers the device's series afresh,
    // and the worker runs it after the delete.
    this.catalog.forgetDevice(deviceId);
    await this.call({ op: 'deleteDevice', deviceId });
  }

  private call(request: StoreRequest, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const worker = this.worker;
    if (this.failure) return Promise.reject(this.failure);
    if (!worker) return Promise.reject(new Error('ThreadedSqliteTelemetryStore used before open() or after close()'));
    return this.calls.send(worker, request, transfer);
  }

  private onMessage(m: StoreReply | StoreEvent): void {
    if ('checkpointError' in m) return this.hooks.onCheckpointError?.(m.checkpointError);
    this.calls.reply(m);
  }

  /** The worker is gone: every call in flight and every later one fails, until a new thread is started. */
  private fail(err: Error): void {
    if (!this.worker) return;
    // A thread that dies while it is being started again fails that start (its open call), no more.
    const first = this.failure === null;
    if (first) {
      this.failure = err;
      this.hooks.onThreadFailure?.(err);
    }
    this.calls.rejectAll(err);
    if (first) this.scheduleRestart();
  }

  /**
   * A new thread after a wait, doubling while starts fail. What was
   * committed is on disk, and a write that failed was not acknowledged, so
   * its device sends it again: nothing is lost meanwhile.
   */
  private scheduleRestart(): void {
    if (this.closed || !this.opened || this.restartTimer) return;
    const delay = this.restartDelayMs;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.closed) return;
      const dead = this.worker;
      this.worker = null;
      void dead?.terminate();
      this.startWorker().then(
        () => {
          if (this.closed) return;
          this.restartDelayMs = this.firstRestartDelayMs;
          this.hooks.onThreadRestarted?.();
        },
        (err: unknown) => {
          if (this.closed) return;
          this.restartDelayMs = Math.min(MAX_RESTART_DELAY_MS, this.restartDelayMs * 2);
          this.failure = new Error(`the telemetry store thread could not be started again: ${(err as Error).message}`);
          this.hooks.onThreadFailure?.(this.failure);
          this.scheduleRestart();
        },
      );
    }, delay);
    this.restartTimer.unref();
  }
}
