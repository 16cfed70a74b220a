/**
 * Linux pressure stall information (/proc/pressure/cpu and io, kernel 4.20+):
 * the share of wall time in which some task on the machine waited for a CPU
 * or for I/O. On a shared machine it tells a latency caused by other work
 * (CPU pressure) from one where the hub waited on the disk (I/O pressure
 * while its own CPU drops).
 */
import { readFileSync } from 'node:fs';

export interface PressureSample {
  /** Date.now() */
  at: number;
  /** Cumulative µs with some task waiting for a CPU. */
  cpuSomeUs: number;
  /** Cumulative µs with some task waiting for I/O. */
  ioSomeUs: number;
  /** Cumulative µs with every non-idle task waiting for I/O. */
  ioFullUs: number;
}

export interface PressureShare {
  /** % of wall time. */
  cpuSome: number;
  ioSome: number;
  ioFull: number;
}

const total = (text: string, kind: 'some' | 'full'): number => Number(new RegExp(`^${kind} .*total=(\\d+)`, 'm').exec(text)?.[1] ?? NaN);

/** undefined where the kernel has no PSI (or it is switched off). */
export function readPressure(): PressureSample | undefined {
  try {
    const cpu = readFileSync('/proc/pressure/cpu', 'utf8');
    const io = readFileSync('/proc/pressure/io', 'utf8');
    const sample = { at: Date.now(), cpuSomeUs: total(cpu, 'some'), ioSomeUs: total(io, 'some'), ioFullUs: total(io, 'full') };
    return Number.isNaN(sample.cpuSomeUs) || Number.isNaN(sample.ioSomeUs) ? undefined : sample;
  } catch {
    return undefined;
  }
}

/** Share of the wall time between two samples; null when either is missing. */
export function pressureShare(from: PressureSample | undefined, to: PressureSample | undefined): PressureShare | null {
  if (!from || !to || to.at <= from.at) return null;
  const wallUs = (to.at - from.at) * 1000;
  const share = (a: number, b: number): number => Math.min(100, Math.max(0, ((b - a) / wallUs) * 100));
  return { cpuSome: share(from.cpuSomeUs, to.cpuSomeUs), ioSome: share(from.ioSomeUs, to.ioSomeUs), ioFull: share(from.ioFullUs, to.ioFullUs) };
}
