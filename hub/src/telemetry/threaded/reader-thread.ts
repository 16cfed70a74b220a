/**
 * The thread that answers history reads of telemetry.db on a read-only
 * connection of its own (sqlite-store-worker.ts, role `reader`). History
 * over a long range scans many rows; on the writer's thread it held every
 * write queued behind it, and with them devices' acknowledgements (four
 * reads of one device raised another's ack latency from 0.05 to 9.3 s).
 * Here the writer goes on while a read runs: WAL gives the read a
 * consistent snapshot and costs the writer nothing.
 *
 * Started at the first read; a thread that dies fails its reads in flight
 * and the next read starts a new one.
 */
import { Worker } from 'node:worker_threads';
import type { HistoryQuery, HistoryResult } from '../telemetry-store.js';
import type { StoreReply, StoreWorkerData } from './store-messages.js';
import { WorkerCalls } from './worker-calls.js';

export class ReaderThread {
  private worker: Worker | null = null;
  private starting: Promise<Worker> | null = null;
  private readonly calls = new WorkerCalls(() => this.worker);

  constructor(
    private readonly entry: (data: StoreWorkerData) => ConstructorParameters<typeof Worker>,
    private readonly data: StoreWorkerData,
  ) {}

  async history(query: HistoryQuery): Promise<HistoryResult> {
    const worker = await this.ready();
    return (await this.calls.send(worker, { op: 'history', query })) as HistoryResult;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.starting = null;
    this.calls.rejectAll(new Error('the telemetry store was closed'));
    await worker?.terminate();
  }

  private ready(): Promise<Worker> {
    this.starting ??= this.start().catch((err: unknown) => {
      this.starting = null;
      throw err;
    });
    return this.starting;
  }

  private async start(): Promise<Worker> {
    const worker = new Worker(...this.entry(this.data));
    this.worker = worker;
    worker.unref();
    worker.on('message', (m: StoreReply) => this.calls.reply(m));
    worker.on('error', (err) => this.fail(worker, new Error(`the telemetry reader thread failed: ${err.message}`)));
    worker.on('exit', (code) => this.fail(worker, new Error(`the telemetry reader thread exited (code ${code})`)));
    await this.calls.send(worker, { op: 'open' });
    return worker;
  }

  private fail(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.starting = null;
    this.calls.rejectAll(err);
  }
}
