/**
 * The process's soft limit on open file descriptors (RLIMIT_NOFILE), which
 * every socket counts against. Node has no getrlimit(); on Linux the kernel
 * shows it in /proc/self/limits. Elsewhere, null.
 */
import { readFileSync } from 'node:fs';

export function softFileDescriptorLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft === undefined || !/^\d+$/.test(soft) ? null : Number(soft);
  } catch {
    return null;
  }
}
