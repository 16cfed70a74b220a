/**
 * The soak run's figures: one record per interval (the progress line and
 * the JSON timeline), the memory trend over the second half of the run and
 * its verdict, and the final table.
 *
 * The first half is left out of the trend on purpose: caches, the SQLite
 * page cache, V8's heap sizing and the churn pool all grow while the hub
 * warms up. What still rises in the second half is what a leak looks like.
 */
import type { LatencySummary } from '@iot-hub/device-sim';
import { int, mb, ms, pct, table } from './format.js';
import type { HubSnapshot } from './soak-metrics.js';

/** The /metrics figures an interval keeps; null when the scrape failed. */
type ScrapedFigures = Pick<HubSnapshot, 'heapUsedBytes' | 'heapTotalBytes' | 'externalBytes' | 'eventLoopLag' | 'activeHandles' | 'openFds' | 'connections' | 'devicesOnline'>;

/** One interval of the steady phase. */
export interface IntervalRecord extends ScrapedFigures {
  elapsedSec: number;
  at: number;
  /** From /proc (exact, always there while the hub runs). */
  hubRssBytes: number | null;
  hubCpuPercent: number | null;
  /** Sockets this run holds open to the hub right now: load devices, churn sessions and the dashboard. */
  benchClients: number;
  ackedPerSec: number;
  loadAckedPerSec: number;
  churnAckedPerSec: number;
  churnConnects: number;
  churnActive: number;
  errors: number;
  dashboardEventsPerSec: number;
  dashboardLatency: LatencySummary | null;
  loadCpuPercent: number | null;
  benchCpuPercent: number;
}

export interface Trend {
  /** Least-squares slope, MB per hour. */
  mbPerHour: number;
  /** Standard error of the slope, MB per hour. */
  stderrMbPerHour: number;
  /** Fitted rise across the window, MB. */
  riseMb: number;
  points: number;
  windowSec: number;
}

const MB = 1024 * 1024;

/** Least-squares line through (at ms, bytes); null with fewer than 3 points. */
export function linearTrend(points: readonly { at: number; bytes: number }[]): Trend | null {
  const n = points.length;
  if (n < 3) return null;
  const t0 = points[0]!.at;
  const xs = points.map((p) => (p.at - t0) / 3_600_000); // hours
  const ys = points.map((p) => p.bytes / MB);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - (my + slope * (xs[i]! - mx))) ** 2;
  const stderr = Math.sqrt(sse / (n - 2) / sxx);
  const hours = xs[n - 1]! - xs[0]!;
  return { mbPerHour: slope, stderrMbPerHour: stderr, riseMb: slope * hours, points: n, windowSec: hours * 3600 };
}

/**
 * Growth counts when the slope is clearly above noise (over 3 standard
 * errors) and the fitted rise is over 2 MB: GC sawtooth and page-cache
 * wobble stay below that, a leak of a few hundred bytes per message does not.
 */
export function grew(trend: Trend | null): boolean {
  return trend !== null && trend.mbPerHour > 0 && trend.mbPerHour > 3 * trend.stderrMbPerHour && trend.riseMb >= 2;
}

const rate = (t: Trend): string => `${t.mbPerHour >= 0 ? '+' : ''}${t.mbPerHour.toFixed(1)} ± ${t.stderrMbPerHour.toFixed(1)} MB/h`;

export function verdict(rss: Trend | null, heap: Trend | null): string {
  if (!rss) return 'no verdict: too few samples in the second half (run longer)';
  const parts: string[] = [];
  if (grew(rss)) parts.push(`RSS grew ${rss.mbPerHour.toFixed(1)} MB/h`);
  if (grew(heap)) parts.push(`heap grew ${heap!.mbPerHour.toFixed(1)} MB/h`);
  const over = `over the last ${fmtDuration(rss.windowSec)}`;
  const text = parts.length > 0 ? `${parts.join(', ')} ${over}` : `no growth seen ${over} (RSS ${rate(rss)}${heap ? `, heap ${rate(heap)}` : ''})`;
  if (rss.windowSec >= 600) return text;
  return `${text}; too short to tell a leak from warm-up or to see a slow one: use --minutes 30 or more`;
}

export function fmtDuration(sec: number): string {
  const s = Math.round(sec);
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min${s % 60 ? ` ${s % 60} s` : ''}`;
}

export const elapsed = (sec: number): string => {
  const s = Math.round(sec);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};

const mbOrDash = (bytes: number | null | undefined): string => (bytes == null ? '-' : mb(bytes));

export function progressLine(r: IntervalRecord): string {
  const c = r.connections;
  const clients = c ? `${int(c.mqtt + c.ws + c.dashboard)} (mqtt ${int(c.mqtt)} ws ${int(c.ws)} dash ${c.dashboard}; ours ${int(r.benchClients)})` : '-';
  return (
    `${elapsed(r.elapsedSec).padStart(7)}  RSS ${mbOrDash(r.hubRssBytes)}  heap ${mbOrDash(r.heapUsedBytes)}  loop p99 ${ms(r.eventLoopLag?.p99Ms)}` +
    `  clients ${clients}  acked ${int(r.ackedPerSec)}/s  connects ${int(r.churnConnects)}  errors ${int(r.errors)}` +
    `  hub CPU ${r.hubCpuPercent === null ? '-' : pct(r.hubCpuPercent)}`
  );
}

export interface SummaryInput {
  title: string;
  rss: { start: number | null; end: number | null; peak: number };
  heap: { start: number | null; end: number | null; peak: number | null };
  rssTrend: Trend | null;
  heapTrend: Trend | null;
  verdict: string;
  eventLoopP99: { median: number | null; worst: number | null };
  hubCpuMean: number | null;
  acked: { load: number; churn: number };
  ackedPerSecMean: number;
  targetRate: number;
  /** The load devices' publish → PUBACK, over the whole run (null when the load process gave no report). */
  puback: LatencySummary | null;
  stored: number | null;
  storedNote: string;
  churn: { connects: number; mqtt: number; ws: number; leftClean: number; leftAbrupt: number; skipped: number; errors: number };
  dashboard: { events: number; dropped: number; p99Median: number | null; p99Worst: number | null };
  after: string;
  handles: { start: number | null; end: number | null };
  fds: { start: number | null; end: number | null };
  hubLogs: { warn: number; error: number };
  endedEarly: string | null;
}

export function formatSummary(s: SummaryInput): string {
  const acked = s.acked.load + s.acked.churn;
  const loss = s.stored === null ? `not checked: ${s.storedNote}` : `${int(acked - s.stored)}${acked - s.stored > 0 ? '  (LOSS)' : '  (ok)'}`;
  const trend = (t: Trend | null): string => (t ? `${rate(t)} (${t.points} samples over ${fmtDuration(t.windowSec)})` : '-');
  const rows: [string, string][] = [
    ['hub RSS start / end / peak', `${mbOrDash(s.rss.start)} / ${mbOrDash(s.rss.end)} / ${mb(s.rss.peak)}`],
    ['heap used start / end / peak', `${mbOrDash(s.heap.start)} / ${mbOrDash(s.heap.end)} / ${mbOrDash(s.heap.peak)}`],
    ['RSS trend, second half', trend(s.rssTrend)],
    ['heap trend, second half', trend(s.heapTrend)],
    ['active handles start / end', `${s.handles.start ?? '-'} / ${s.handles.end ?? '-'}`],
    ['open fds start / end', `${s.fds.start ?? '-'} / ${s.fds.end ?? '-'}`],
    ['after every device left', s.after],
    ['event-loop delay p99, median / worst interval', `${ms(s.eventLoopP99.median ?? undefined)} / ${ms(s.eventLoopP99.worst ?? undefined)}`],
    ['hub CPU, mean', s.hubCpuMean === null ? '-' : `${pct(s.hubCpuMean)} (100 % = one core)`],
    ['acked msgs/s, mean', `${int(s.ackedPerSecMean)} (load at ${int(s.targetRate)}, plus churn)`],
    ['publish→PUBACK p50 / p90 / p99 / max', s.puback ? `${ms(s.puback.p50)} / ${ms(s.puback.p90)} / ${ms(s.puback.p99)} / ${ms(s.puback.max)}` : '-'],
    ['acked: load + churn', `${int(s.acked.load)} + ${int(s.acked.churn)} = ${int(acked)}`],
    ['stored (history API)', s.stored === null ? '-' : int(s.stored)],
    ['loss: acked − stored', loss],
    ['churn connects (mqtt / ws)', `${int(s.churn.connects)} (${int(s.churn.mqtt)} / ${int(s.churn.ws)}); left clean ${int(s.churn.leftClean)}, abrupt ${int(s.churn.leftAbrupt)}${s.churn.skipped ? `; ${int(s.churn.skipped)} skipped (pool busy)` : ''}`],
    ['churn errors', int(s.churn.errors)],
    ['dashboard events (dropped)', `${int(s.dashboard.events)} (${int(s.dashboard.dropped)})`],
    ['publish→dashboard p99, median / worst interval', `${ms(s.dashboard.p99Median ?? undefined)} / ${ms(s.dashboard.p99Worst ?? undefined)}`],
    ['hub warn / error log lines', `${s.hubLogs.warn} / ${s.hubLogs.error}`],
  ];
  return `${s.title}${s.endedEarly ? `\n  ended early: ${s.endedEarly}` : ''}\n${table(rows)}\n\n  verdict: ${s.verdict}`;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
