/**
 * A few of the hub's own counters from its Prometheus /metrics (admin
 * token): points durably written, dashboard events dropped for slow readers
 * and dashboards cut off past the buffer cap. Read before and after a window,
 * the differences say what the hub stored and shed in it.
 *
 * Note: a scrape also resets the event-loop delay histogram that
 * hub-metrics.ts reads; a benchmark uses one or the other per window.
 */
import { fetchHubMetrics, metricSample } from './hub-metrics.js';

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
  const text = await fetchHubMetrics(httpUrl, adminToken);
  if (text === undefined) return undefined;
  const pointsWritten = metricSample(text, 'iot_hub_telemetry_points_written_total');
  const dashboardDropped = metricSample(text, 'iot_hub_dashboard_dropped_events_total');
  const dashboardSlowDisconnects = metricSample(text, 'iot_hub_dashboard_slow_disconnects_total');
  if (pointsWritten === undefined || dashboardDropped === undefined || dashboardSlowDisconnects === undefined) return undefined;
  return { pointsWritten, dashboardDropped, dashboardSlowDisconnects };
}
