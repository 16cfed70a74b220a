/**
 * The calls in flight to one store thread (the writer or the reader): each
 * posted with a number, settled by the reply that carries it. The thread is
 * ref'd while a call is in flight, so the process cannot exit under an
 * await, and unref'd when none is, so an idle store never keeps it alive.
 */
import type { Worker } from 'node:worker_threads';
import type { StoreCall, StoreReply, StoreRequest } from './store-messages.js';

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class WorkerCalls {
  private readonly calls = new Map<number, PendingCall>();
  private nextCall = 1;

  /** `current` is the thread now in use (null while there is none), unref'd when the last call settles. */
  constructor(private readonly current: () => Worker | null) {}

  send(worker: Worker, request: StoreRequest, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const call = this.nextCall++;
    return new Promise((resolve, reject) => {
      if (this.calls.size === 0) worker.ref();
      this.calls.set(call, { resolve, reject });
      worker.postMessage({ ...request, call } satisfies StoreCall, transfer);
    });
  }

  /** Settles the call a reply answers; a reply to a call already failed is ignored. */
  reply(m: StoreReply): void {
    const pending = this.calls.get(m.call);
    if (!pending) return;
    this.settled(m.call);
    if (m.ok) pending.resolve(m.value);
    else pending.reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
  }

  /** Fails every call in flight (the thread died or the store closed). */
  rejectAll(err: Error): void {
    for (const [call, pending] of this.calls) {
      this.settled(call);
      pending.reject(err);
    }
  }

  private settled(call: number): void {
    this.calls.delete(call);
    if (this.calls.size === 0) this.current()?.unref();
  }
}
