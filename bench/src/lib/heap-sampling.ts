/**
 * Where a process's live memory was allocated, from V8's sampling heap
 * profiler over the inspector: started before the clients connect, read
 * after they are all held and a full GC, so the samples left are objects
 * still alive, attributed to the function that allocated them. This is how
 * conns says what an idle connection costs the hub, by allocation site.
 */
import type { InspectorSession } from './force-gc.js';

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

export interface HeapSites {
  /** Live bytes sampled in all. */
  totalBytes: number;
  /** Biggest allocation sites: self bytes and share, with the nearest caller outside node internals. */
  top: { site: string; caller: string; bytes: number; share: number }[];
}

/** Starts sampling (one sample per `intervalBytes` allocated on average). */
export async function startHeapSampling(session: InspectorSession, intervalBytes = 8192): Promise<void> {
  await session.call('HeapProfiler.startSampling', { samplingInterval: intervalBytes });
}

const shortUrl = (url: string): string => url.replace(/^file:\/\/.*?\/node_modules\//, '').replace(/^file:\/\/.*?\/(hub|protocol)\/dist\//, '$1/');
const where = (n: SamplingNode): string => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

/** Stops sampling and sums the live samples by allocating function. */
export async function stopHeapSampling(session: InspectorSession, top = 12): Promise<HeapSites> {
  const { profile } = await session.call<{ profile: { head: SamplingNode } }>('HeapProfiler.stopSampling');
  const sites = new Map<string, { site: string; caller: string; bytes: number }>();
  let totalBytes = 0;
  const walk = (node: SamplingNode, callers: SamplingNode[]): void => {
    if (node.selfSize > 0) {
      totalBytes += node.selfSize;
      const caller = [...callers].reverse().find((c) => c.callFrame.url !== '' && !c.callFrame.url.startsWith('node:'));
      const key = `${where(node)} ← ${caller ? where(caller) : '-'}`;
      const entry = sites.get(key) ?? { site: where(node), caller: caller ? where(caller) : '-', bytes: 0 };
      entry.bytes += node.selfSize;
      sites.set(key, entry);
    }
    for (const child of node.children) walk(child, [...callers, node]);
  };
  walk(profile.head, []);
  return {
    totalBytes,
    top: [...sites.values()]
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, top)
      .map((s) => ({ ...s, share: totalBytes > 0 ? s.bytes / totalBytes : 0 })),
  };
}
