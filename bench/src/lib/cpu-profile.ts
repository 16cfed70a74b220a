/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and
 * per area (a package under node_modules, the hub's own code, node
 * internals, GC, idle), to say where the hub spends its CPU.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Profiled wall time, ms. */
  wallMs: number;
  /** Share of samples outside (idle), 0..1. */
  idle: number;
  byArea: { area: string; share: number }[];
  topFunctions: { fn: string; where: string; share: number; callers: { path: string; share: number }[] }[];
}

/** node_modules/<pkg> (or @scope/pkg), hub/src, protocol, node:internal, (gc) ... */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/(hub|protocol|device-sim)\/(?:dist|src)\//.exec(url);
  if (own) return `@iot-hub/${own[1]}`;
  return url;
}

export function summariseProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);
  const frameName = (n: ProfileNode): string => {
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url ? url.replace(/^.*\/(node_modules|hub|protocol|device-sim)\//, '$1/').replace(/^node:/, '') : '';
    return `${functionName || '(anonymous)'}${where ? ` ${where}:${lineNumber + 1}` : ''}`;
  };
  /**
   * Up to three callers above a node, nearest first, skipping Node's own
   * frames (a writev is decided by who wrote, not by net.js).
   */
  const callerPath = (id: number): string => {
    const names: string[] = [];
    for (let p = parentOf.get(id); p !== undefined && names.length < 3; p = parentOf.get(p)) {
      const parent = byId.get(p);
      if (!parent || parent.callFrame.functionName === '(root)') break;
      const url = parent.callFrame.url;
      if (url === '' || url.startsWith('node:')) continue;
      names.push(frameName(parent));
    }
    return names.join(' ← ') || '(node internals only)';
  };
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;

  const areas = new Map<string, number>();
  const functions = new Map<string, { fn: string; where: string; us: number; callers: Map<string, number> }>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = url ? `${url.replace(/^.*?\/(node_modules|hub|protocol)\//, '$1/')}:${lineNumber + 1}` : area;
    const key = `${functionName}@${where}`;
    const entry = functions.get(key) ?? { fn: functionName || '(anonymous)', where, us: 0, callers: new Map<string, number>() };
    entry.us += us;
    const path = callerPath(id);
    entry.callers.set(path, (entry.callers.get(path) ?? 0) + us);
    functions.set(key, entry);
  }
  const busy = total - idleUs || 1;
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    idle: idleUs / total,
    byArea: [...areas].map(([area, us]) => ({ area, share: us / busy })).sort((a, b) => b.share - a.share).slice(0, top),
    topFunctions: [...functions.values()]
      .map((f) => ({
        fn: f.fn,
        where: f.where,
        share: f.us / busy,
        callers: [...f.callers].map(([path, us]) => ({ path, share: us / busy })).sort((a, b) => b.share - a.share).slice(0, 3),
      }))
      .sort((a, b) => b.share - a.share)
      .slice(0, top),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)} %`;
  return [
    `hub CPU profile (main thread, ${(s.wallMs / 1000).toFixed(1)} s, idle ${pct(s.idle).trim()}); shares of busy time:`,
    '  by area:',
    ...s.byArea.map((a) => `    ${pct(a.share)}  ${a.area}`),
    '  top functions (self time):',
    ...s.topFunctions.flatMap((f, i) => [
      `    ${pct(f.share)}  ${f.fn}  ${f.where}`,
      // Callers of the top five, where the time is decided.
      ...(i < 5 ? f.callers.map((c) => `             ${pct(c.share)}  ← ${c.path}`) : []),
    ]),
  ].join('\n');
}

/**
 * The main thread's profile in a --cpu-prof dir. Node writes one per thread
 * (CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile): the hub's worker
 * threads (the SQLite store, WAL checkpoints) have their own.
 */
export function mainThreadProfile(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const main = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
  return main === undefined ? undefined : join(dir, main);
}
