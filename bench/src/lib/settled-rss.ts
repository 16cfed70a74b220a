/**
 * A server's resident memory once it has settled, read from /proc: wait,
 * then sample VmRSS every 250 ms over a window and take the median. RSS
 * moves with garbage collection (V8 grows and shrinks its heap in steps);
 * an idle server's RSS stops moving within a few seconds, and the median of
 * a window ignores one collection landing inside it. Min and max are kept
 * so the report shows how still it was.
 */
import { readProc } from './proc-stats.js';
import { sleep } from './flags.js';

export interface SettledRss {
  medianBytes: number;
  minBytes: number;
  maxBytes: number;
  samples: number;
}

export async function settledRss(pid: number, settleMs: number, windowMs: number, intervalMs = 250): Promise<SettledRss> {
  await sleep(settleMs);
  const values: number[] = [];
  const end = Date.now() + windowMs;
  do {
    values.push(readProc(pid).rssBytes);
    await sleep(intervalMs);
  } while (Date.now() < end);
  values.sort((a, b) => a - b);
  return {
    medianBytes: values[Math.floor(values.length / 2)] as number,
    minBytes: values[0] as number,
    maxBytes: values[values.length - 1] as number,
    samples: values.length,
  };
}
