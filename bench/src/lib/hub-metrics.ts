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

/** The hub's /metrics text (admin token); undefined when it cannot be read within 10 s. */
export async function fetchHubMetrics(httpUrl: string, adminToken: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${adminToken}` }, signal: AbortSignal.timeout(10_000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The value of one sample in Prometheus text: `name` is a regular
 * expression source for the metric name, `labels` one for its exact label
 * set (none: the sample may carry any labels).
 */
export function metricSample(text: string, name: string, labels?: string): number | undefined {
  const m = new RegExp(`^${name}${labels === undefined ? '(?:\\{[^}]*\\})?' : `\\{${labels}\\}`} ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The event-loop delay in one /metrics text; undefined when it has none. */
export function eventLoopDelayIn(text: string): EventLoopDelay | undefined {
  const read = (stat: string): number | undefined => {
    const seconds = metricSample(text, `\\w*nodejs_eventloop_lag_${stat}_seconds`);
    return seconds === undefined ? undefined : Math.max(0, seconds * 1000 - SAMPLING_INTERVAL_MS);
  };
  const [meanMs, p50Ms, p90Ms, p99Ms, maxMs] = ['mean', 'p50', 'p90', 'p99', 'max'].map(read);
  if (meanMs === undefined || p50Ms === undefined || p90Ms === undefined || p99Ms === undefined || maxMs === undefined) return undefined;
  return { meanMs, p50Ms, p90Ms, p99Ms, maxMs };
}

/** The hub's push-back counters (its ingest gate), cumulative since it started. */
export interface IngestPushBack {
  pausesLag: number;
  pausesInFlight: number;
  pausedSeconds: number;
}

/** The push-back counters in one /metrics text; undefined when it has none. */
export function ingestPushBackIn(text: string): IngestPushBack | undefined {
  const pausesLag = metricSample(text, 'iot_hub_ingest_paused_total', 'reason="lag"');
  const pausesInFlight = metricSample(text, 'iot_hub_ingest_paused_total', 'reason="in_flight"');
  const pausedSeconds = metricSample(text, 'iot_hub_ingest_paused_seconds_total');
  if (pausesLag === undefined || pausesInFlight === undefined || pausedSeconds === undefined) return undefined;
  return { pausesLag, pausesInFlight, pausedSeconds };
}

/** What happened between two readings. */
export function pushBackBetween(before: IngestPushBack, after: IngestPushBack): IngestPushBack {
  return {
    pausesLag: after.pausesLag - before.pausesLag,
    pausesInFlight: after.pausesInFlight - before.pausesInFlight,
    pausedSeconds: after.pausedSeconds - before.pausedSeconds,
  };
}
