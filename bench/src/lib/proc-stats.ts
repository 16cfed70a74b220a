/**
 * CPU and memory of another process from /proc (Linux): utime + stime from
 * /proc/<pid>/stat, VmRSS and VmHWM (peak RSS) from /proc/<pid>/status.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Kernel clock ticks per second (USER_HZ), the unit of utime and stime. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100; // the Linux default on every common architecture
    }
  }
  return clockTicks;
}

export interface ProcSample {
  /** performance-independent wall clock, ms (Date.now()). */
  at: number;
  /** user + system CPU time consumed so far, ms. */
  cpuMs: number;
  rssBytes: number;
  /** Peak RSS so far (VmHWM), bytes. */
  peakRssBytes: number;
}

export function readProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { at: Date.now(), cpuMs: ((utime + stime) * 1000) / ticksPerSecond(), rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** CPU % (100 = one core) between two samples. */
export function cpuPercent(from: ProcSample, to: ProcSample): number {
  const wall = to.at - from.at;
  return wall > 0 ? ((to.cpuMs - from.cpuMs) / wall) * 100 : 0;
}

/** Samples a process every `intervalMs` until stopped; keeps the series for the JSON report. */
export class ProcSampler {
  readonly samples: ProcSample[] = [];
  readonly #pid: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(pid: number) {
    this.#pid = pid;
  }

  start(intervalMs = 1000): void {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Takes a sample now (also used to mark phase boundaries). */
  sample(): ProcSample | undefined {
    try {
      const s = readProc(this.#pid);
      this.samples.push(s);
      return s;
    } catch {
      return undefined; // the process is gone
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  get peakRssBytes(): number {
    return this.samples.reduce((max, s) => Math.max(max, s.peakRssBytes, s.rssBytes), 0);
  }
}
