/**
 * A few of the hub's own counters from its Prometheus /metrics (admin
 * token): points durably written, dashboard events dropped for slow readers
 * and dashboards cut off past the buffer cap. Read before and after a window,
 * the differences say what the hub stored and shed in it.
 *
 * Note: a scrape also resets the event-loop delay histogram that
 * hub-metrics.ts reads; a benchmark uses one or the other per window.
 */
export interface HubCounters {
  /** `iot_hub_telemetry_points_written_total`: values acknowledged to devices (a load message carries 3). */
  pointsWritten: number;
  /** `iot_hub_dashboard_dropped_events_total` */
  dashboardDropped: number;
  /** `iot_hub_dashboard_slow_disconnects_total` */
  dashboardSlowDisconnects: number;
}

/** Undefined when /metrics cannot be read or lacks a counter. */
export async function readHubCounters(httpUrl: string, adminToken: string): Promise<HubCounters | undefined> {
  let text: string;
  try {
    const res = await fetch(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${adminToken}` }, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return undefined;
    text = await res.text();
  } catch {
    return undefined;
  }
  const read = (name: string): number | undefined => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const pointsWritten = read('iot_hub_telemetry_points_written_total');
  const dashboardDropped = read('iot_hub_dashboard_dropped_events_total');
  const dashboardSlowDisconnects = read('iot_hub_dashboard_slow_disconnects_total');
  if (pointsWritten === undefined || dashboardDropped === undefined || dashboardSlowDisconnects === undefined) return undefined;
  return { pointsWritten, dashboardDropped, dashboardSlowDisconnects };
}
