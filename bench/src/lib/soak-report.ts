/**
 * The soak run's figures: one record per interval (the progress line and
 * the JSON timeline), memory growth against the noise of the first ten
 * minutes and its verdict, the scoreboard rows and the final table.
 */
import type { LatencySummary } from '@iot-hub/device-sim';
import { int, mb, ms, pct, table } from './format.js';
import { boundRow, printedRow, type ScoreRow } from './scoreboard.js';
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
  /** The load devices' worst one-second publish → PUBACK p99 in the interval (the load generator's progress lines). */
  pubackP99Ms: number | null;
  loadCpuPercent: number | null;
  benchCpuPercent: number;
}

/**
 * Memory against the run's own noise (issue 23): the range of the samples
 * in the first window (ten minutes, or a third of a shorter run) is what
 * warm-up and GC sawtooth look like; the median of the last window of the
 * same length must not rise above that range's top. A leak of a few
 * hundred bytes per message does, within the hour.
 */
export interface Growth {
  first: { min: number; max: number; points: number };
  lastMedian: number;
  lastPoints: number;
  windowSec: number;
  /** lastMedian − first.max; above 0 is growth beyond the first window's noise. */
  beyondNoiseBytes: number;
}

export const NOISE_WINDOW_MS = 600_000;

/** null with fewer than 3 points in either window. */
export function growthBeyondNoise(points: readonly { at: number; bytes: number }[], from: number, to: number): Growth | null {
  const windowMs = Math.min(NOISE_WINDOW_MS, (to - from) / 3);
  const first = points.filter((p) => p.at >= from && p.at <= from + windowMs).map((p) => p.bytes);
  const last = points.filter((p) => p.at >= to - windowMs && p.at <= to).map((p) => p.bytes);
  if (first.length < 3 || last.length < 3) return null;
  const max = Math.max(...first);
  const lastMedian = median(last) as number;
  return { first: { min: Math.min(...first), max, points: first.length }, lastMedian, lastPoints: last.length, windowSec: windowMs / 1000, beyondNoiseBytes: lastMedian - max };
}

const growthText = (name: string, g: Growth | null): string =>
  g === null
    ? `${name}: too few samples (run longer)`
    : `${name} ${g.beyondNoiseBytes > 0 ? `grew ${mb(g.beyondNoiseBytes)} beyond` : 'within'} the first ${fmtDuration(g.windowSec)}'s range (${mb(g.first.min)}-${mb(g.first.max)}; last ${fmtDuration(g.windowSec)} median ${mb(g.lastMedian)})`;

export function verdict(rss: Growth | null, heap: Growth | null, durationSec: number): string {
  const text = `${growthText('RSS', rss)}; ${growthText('heap', heap)}`;
  return durationSec >= 3 * (NOISE_WINDOW_MS / 1000) ? text : `${text}; shorter than 30 min: the first window is not ten minutes, use --minutes 60`;
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
    `  clients ${clients}  acked ${int(r.ackedPerSec)}/s  PUBACK p99 ${ms(r.pubackP99Ms ?? undefined)}  connects ${int(r.churnConnects)}  errors ${int(r.errors)}` +
    `  hub CPU ${r.hubCpuPercent === null ? '-' : pct(r.hubCpuPercent)}`
  );
}

export interface SummaryInput {
  title: string;
  rss: { start: number | null; end: number | null; peak: number };
  heap: { start: number | null; end: number | null; peak: number | null };
  rssGrowth: Growth | null;
  heapGrowth: Growth | null;
  pubackP99: { median: number | null; worst: number | null };
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
  const rows: [string, string][] = [
    ['hub RSS start / end / peak', `${mbOrDash(s.rss.start)} / ${mbOrDash(s.rss.end)} / ${mb(s.rss.peak)}`],
    ['heap used start / end / peak', `${mbOrDash(s.heap.start)} / ${mbOrDash(s.heap.end)} / ${mbOrDash(s.heap.peak)}`],
    ['active handles start / end', `${s.handles.start ?? '-'} / ${s.handles.end ?? '-'}`],
    ['open fds start / end', `${s.fds.start ?? '-'} / ${s.fds.end ?? '-'}`],
    ['after every device left', s.after],
    ['event-loop delay p99, median / worst interval', `${ms(s.eventLoopP99.median ?? undefined)} / ${ms(s.eventLoopP99.worst ?? undefined)}`],
    ['hub CPU, mean', s.hubCpuMean === null ? '-' : `${pct(s.hubCpuMean)} (100 % = one core)`],
    ['acked msgs/s, mean', `${int(s.ackedPerSecMean)} (load at ${int(s.targetRate)}, plus churn)`],
    ['publish→PUBACK p50 / p90 / p99 / max', s.puback ? `${ms(s.puback.p50)} / ${ms(s.puback.p90)} / ${ms(s.puback.p99)} / ${ms(s.puback.max)}` : '-'],
    ['PUBACK p99 per interval, median / worst', `${ms(s.pubackP99.median ?? undefined)} / ${ms(s.pubackP99.worst ?? undefined)}`],
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

/** RSS and heap against the first window's noise, nothing lost, and PUBACK p99 per interval printed. */
export function soakRows(s: { rss: Growth | null; heap: Growth | null; lost: number | null; pubackP99: { median: number | null; worst: number | null } }): ScoreRow[] {
  const beyond = (what: string, g: Growth | null): ScoreRow => ({
    ...boundRow(what, g?.beyondNoiseBytes ?? null, (n) => `${n > 0 ? '+' : ''}${(n / 1024 / 1024).toFixed(1)} MB`, { atMost: 0 }),
    target: 'last 10 min median ≤ first 10 min max',
  });
  return [
    beyond('soak: hub RSS growth beyond the first ten minutes\' noise', s.rss),
    beyond('soak: hub heap growth beyond the first ten minutes\' noise', s.heap),
    boundRow('soak: acknowledged but not stored', s.lost, int, { atMost: 0 }),
    printedRow('soak: publish → PUBACK p99 per interval, median / worst', `${ms(s.pubackP99.median ?? undefined)} / ${ms(s.pubackP99.worst ?? undefined)}`, '', null, 'printed (the latency rows judge it)'),
  ];
}
