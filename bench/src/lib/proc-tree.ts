/**
 * CPU of whole process trees from /proc (Linux): a process, its live
 * descendants, and the children it has already reaped (cutime + cstime), so
 * PostgreSQL's backends count whether they are still running or ended
 * during the window (the postmaster reaps them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticks: number | undefined;
function ticksPerSecond(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

interface Stat {
  ppid: number;
  /** utime + stime, ticks */
  own: number;
  /** cutime + cstime, ticks */
  reaped: number;
}

function readAll(): Map<number, Stat> {
  const all = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // Fields after the command name's closing parenthesis: state ppid … utime(12) stime(13) cutime(14) cstime(15), 1-based from state.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    all.set(Number(name), { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) });
  }
  return all;
}

/** CPU ms so far of each named tree (root pid and descendants); a root that is gone reads 0. */
export function treeCpuMs(roots: Record<string, number | undefined>): Record<string, number> {
  const all = readAll();
  const children = new Map<number, number[]>();
  for (const [pid, s] of all) {
    const list = children.get(s.ppid);
    if (list) list.push(pid);
    else children.set(s.ppid, [pid]);
  }
  const out: Record<string, number> = {};
  for (const [name, root] of Object.entries(roots)) {
    let t = 0;
    const rootStat = root === undefined ? undefined : all.get(root);
    if (root !== undefined && rootStat) {
      t += rootStat.reaped;
      const stack = [root];
      while (stack.length > 0) {
        const pid = stack.pop() as number;
        t += all.get(pid)?.own ?? 0;
        stack.push(...(children.get(pid) ?? []));
      }
    }
    out[name] = (t * 1000) / ticksPerSecond();
  }
  return out;
}
