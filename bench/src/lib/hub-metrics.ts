/**
 * The hub's own event-loop delay, read from its Prometheus /metrics (admin
 * token): prom-client's default metrics sample it with Node's
 * monitorEventLoopDelay at 10 ms resolution and reset the histogram on every
 * scrape. Scrape once when a window starts (the reading is thrown away) and
 * once when it ends: the second reading covers exactly that window, as long
 * as nothing else scrapes the hub meanwhile.
 *
 * Work that waits for the hub's event loop (a command's HTTP request, a
 * device's result) waits about this long: it shows whether a latency is
 * spent queueing inside the hub.
 *
 * The histogram times a timer that should fire every 10 ms, so an idle loop
 * reads about 10 ms: the figures here are what lies beyond that interval.
 */
export const SAMPLING_INTERVAL_MS = 10;

export interface EventLoopDelay {
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Undefined when the hub has no such metrics (or /metrics cannot be read). */
export async function scrapeEventLoopDelay(httpUrl: string, adminToken: string): Promise<EventLoopDelay | undefined> {
  let text: string;
  try {
    const res = await fetch(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${adminToken}` }, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return undefined;
    text = await res.text();
  } catch {
    return undefined;
  }
  const read = (stat: string): number | undefined => {
    const m = new RegExp(`^\\w*nodejs_eventloop_lag_${stat}_seconds(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
    return m ? Math.max(0, Number(m[1]) * 1000 - SAMPLING_INTERVAL_MS) : undefined;
  };
  const [meanMs, p50Ms, p90Ms, p99Ms, maxMs] = ['mean', 'p50', 'p90', 'p99', 'max'].map(read);
  if (meanMs === undefined || p50Ms === undefined || p90Ms === undefined || p99Ms === undefined || maxMs === undefined) return undefined;
  return { meanMs, p50Ms, p90Ms, p99Ms, maxMs };
}
