/**
 * What the soak run reads from the hub's Prometheus /metrics once per
 * interval: memory, event-loop delay, handles and file descriptors (the
 * leak signs), connections by kind and telemetry points written.
 *
 * One scrape per interval, and nothing else may scrape the hub meanwhile:
 * prom-client's event-loop histogram resets on every scrape, so each
 * reading covers exactly the interval since the previous one (see
 * hub-metrics.ts).
 */
import { fetchHubMetrics, SAMPLING_INTERVAL_MS } from './hub-metrics.js';

export interface HubSnapshot {
  /** Wall clock of the scrape (Date.now()). */
  at: number;
  rssBytes: number | null;
  heapUsedBytes: number | null;
  heapTotalBytes: number | null;
  externalBytes: number | null;
  /** Event-loop delay since the previous scrape, beyond the 10 ms sampling interval. */
  eventLoopLag: { p50Ms: number; p99Ms: number; maxMs: number } | null;
  activeHandles: number | null;
  openFds: number | null;
  connections: { mqtt: number; ws: number; dashboard: number } | null;
  devicesOnline: number | null;
  /** iot_hub_telemetry_points_written_total: values durably written since the hub started. */
  pointsWritten: number | null;
  /** iot_hub_device_errors_total summed over codes: protocol errors the hub sent to devices. */
  deviceErrors: number | null;
  /** iot_hub_mqtt_refused_connects_total + iot_hub_ws_refused_upgrades_total. */
  refusedConnects: number | null;
  dashboardDroppedEvents: number | null;
}

/** Undefined when /metrics cannot be read (the hub is gone or too busy to answer within 10 s). */
export async function scrapeHub(httpUrl: string, adminToken: string): Promise<HubSnapshot | undefined> {
  const text = await fetchHubMetrics(httpUrl, adminToken);
  return text === undefined ? undefined : parseMetrics(text, Date.now());
}

/** Sum of every sample of `name` whose labels contain `labels` (e.g. `kind="mqtt"`); null when there is none. */
function sum(text: string, name: string, labels = ''): number | null {
  const re = new RegExp(`^${name}(\\{[^}]*\\})? ([0-9.eE+-]+|NaN)$`, 'gm');
  let total: number | null = null;
  for (const m of text.matchAll(re)) {
    if (labels && !(m[1] ?? '').includes(labels)) continue;
    const value = Number(m[2]);
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

export function parseMetrics(text: string, at: number): HubSnapshot {
  const p = 'iot_hub_';
  const lag = (stat: string): number | null => {
    const seconds = sum(text, `${p}nodejs_eventloop_lag_${stat}_seconds`);
    return seconds === null ? null : Math.max(0, seconds * 1000 - SAMPLING_INTERVAL_MS);
  };
  const [p50Ms, p99Ms, maxMs] = [lag('p50'), lag('p99'), lag('max')] as const;
  const connections = (kind: string): number | null => sum(text, `${p}connections`, `kind="${kind}"`);
  const [mqtt, ws, dashboard] = [connections('mqtt'), connections('ws'), connections('dashboard')];
  const refusedMqtt = sum(text, `${p}mqtt_refused_connects_total`);
  const refusedWs = sum(text, `${p}ws_refused_upgrades_total`);
  return {
    at,
    rssBytes: sum(text, `${p}process_resident_memory_bytes`),
    heapUsedBytes: sum(text, `${p}nodejs_heap_size_used_bytes`),
    heapTotalBytes: sum(text, `${p}nodejs_heap_size_total_bytes`),
    externalBytes: sum(text, `${p}nodejs_external_memory_bytes`),
    eventLoopLag: p50Ms === null || p99Ms === null || maxMs === null ? null : { p50Ms, p99Ms, maxMs },
    activeHandles: sum(text, `${p}nodejs_active_handles_total`),
    openFds: sum(text, `${p}process_open_fds`),
    connections: mqtt === null || ws === null || dashboard === null ? null : { mqtt, ws, dashboard },
    devicesOnline: sum(text, `${p}devices`, 'presence="online"'),
    pointsWritten: sum(text, `${p}telemetry_points_written_total`),
    deviceErrors: sum(text, `${p}device_errors_total`),
    refusedConnects: refusedMqtt === null && refusedWs === null ? null : (refusedMqtt ?? 0) + (refusedWs ?? 0),
    dashboardDroppedEvents: sum(text, `${p}dashboard_dropped_events_total`),
  };
}
