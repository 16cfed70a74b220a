/**
 * How long a process's main thread (for Node: the event loop) was ready to
 * run but waited for a CPU, from /proc/<pid>/schedstat (Linux: time on CPU,
 * time waiting on a run queue, both in ns). On a machine shared with other
 * work this tells "the server is slow" apart from "the server did not get a
 * core": a server that waited most of a window was held back by the machine.
 */
import { readFileSync } from 'node:fs';

export interface SchedSample {
  at: number;
  /** Cumulative ms on a CPU. */
  runMs: number;
  /** Cumulative ms runnable but waiting for a CPU. */
  waitMs: number;
}

export function readSched(pid: number): SchedSample | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    if (run === undefined || wait === undefined || Number.isNaN(run) || Number.isNaN(wait)) return undefined;
    return { at: Date.now(), runMs: run / 1e6, waitMs: wait / 1e6 };
  } catch {
    return undefined;
  }
}

/** % of the wall time between two samples that the thread spent waiting for a CPU. */
export function waitingPercent(from: SchedSample | undefined, to: SchedSample | undefined): number | null {
  if (!from || !to || to.at <= from.at) return null;
  return ((to.waitMs - from.waitMs) / (to.at - from.at)) * 100;
}
