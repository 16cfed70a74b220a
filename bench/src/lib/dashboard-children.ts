/**
 * The parent side of fanout-dashboards.ts: forks the dashboard processes,
 * talks to them over IPC, and turns their histograms into percentiles.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ChildReport, ParentMessage, PhaseCounts } from './fanout-dashboards.js';

const SCRIPT = fileURLToPath(new URL('./fanout-dashboards.js', import.meta.url));
const BUCKET_MS = 0.1;

export class DashboardChild {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #waiters: Array<{ op: ChildMessage['op']; resolve: (m: ChildMessage) => void; reject: (e: Error) => void }> = [];

  constructor() {
    this.#child = fork(SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (message: ChildMessage) => {
      if (message.op === 'error') {
        for (const w of this.#waiters.splice(0)) w.reject(new Error(`dashboard process: ${message.message}`));
        return;
      }
      const i = this.#waiters.findIndex((w) => w.op === message.op);
      if (i >= 0) this.#waiters.splice(i, 1)[0]?.resolve(message);
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    void this.#exited.then(() => {
      for (const w of this.#waiters.splice(0)) w.reject(new Error('the dashboard process exited'));
    });
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  send(message: ParentMessage): void {
    this.#child.send(message);
  }

  /** Sends `message` and waits for the child's answer of kind `op`. */
  request<O extends ChildMessage['op']>(message: ParentMessage, op: O, timeoutMs = 120_000): Promise<Extract<ChildMessage, { op: O }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the dashboard process did not answer ${message.op} within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        op,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<ChildMessage, { op: O }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.send(message);
    });
  }

  async report(): Promise<ChildReport> {
    return (await this.request({ op: 'report' }, 'report')).report;
  }

  /** Ends the process (disconnect makes it exit; SIGKILL if it does not within 5 s). */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    if (this.#child.connected) this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Percentiles (nearest rank, bucket middle) of merged phase counts; null when empty. */
export function percentiles(parts: readonly PhaseCounts[]): Percentiles | null {
  const hist = new Map<number, number>();
  const slow: number[] = [];
  let count = 0;
  for (const part of parts) {
    const h = part.histogram ?? [];
    for (let i = 0; i < h.length; i += 2) {
      hist.set(h[i] as number, (hist.get(h[i] as number) ?? 0) + (h[i + 1] as number));
      count += h[i + 1] as number;
    }
    slow.push(...part.slow);
    count += part.slow.length;
  }
  if (count === 0) return null;
  const buckets = [...hist.keys()].sort((a, b) => a - b);
  slow.sort((a, b) => a - b);
  const at = (p: number): number => {
    let rank = Math.max(1, Math.ceil(p * count));
    for (const b of buckets) {
      rank -= hist.get(b) as number;
      if (rank <= 0) return (b + 0.5) * BUCKET_MS;
    }
    return slow[Math.min(slow.length - 1, rank - 1)] as number;
  };
  const max = slow.length > 0 ? (slow.at(-1) as number) : ((buckets.at(-1) as number) + 1) * BUCKET_MS;
  return { count, p50: at(0.5), p90: at(0.9), p99: at(0.99), max };
}

/** Median of a list (the middle value, or the lower middle). */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}
