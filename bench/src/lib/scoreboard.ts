/**
 * The scoreboard: every benchmark judges its rows into this one shape and
 * stores them in its result JSON (`rows`), and `npm run bench -- report`
 * turns the latest result of each benchmark into the table in
 * bench/README.md. No I/O here, so the report is a pure function of the
 * results and a test can pin it.
 */
import type { MachineInfo } from './machine.js';

/**
 * met / missed: judged against its target. printed: measured and shown,
 * deliberately not judged (the row says why in `target`). no figure: the run
 * could not measure it.
 */
export type Verdict = 'met' | 'missed' | 'printed' | 'no figure';

export interface ScoreRow {
  /** What is measured, e.g. `relay 1 → 1 QoS 0, msgs/s`. */
  what: string;
  /** The hub's figure, formatted with its unit. */
  figure: string;
  /** The peer's figure in the same run, named (`bare aedes 40,515`), or '' when the row has no peer. */
  peer: string;
  /** hub ÷ peer (or the judged quantity) when the row has one. */
  ratio: number | null;
  /** The target as text (`≥ 0.8 ×`), or why the row is only printed. */
  target: string;
  verdict: Verdict;
}

/** What the report needs of a result file; every benchmark writes at least this. */
export interface ScoredResult {
  benchmark: string;
  startedAt: string;
  command: string;
  machine: MachineInfo;
  rows: ScoreRow[];
}

export const judge = (figure: number | null | undefined, ok: (n: number) => boolean): Verdict =>
  figure === null || figure === undefined || !Number.isFinite(figure) ? 'no figure' : ok(figure) ? 'met' : 'missed';

/** A row judged on hub ÷ peer ≥ `atLeast` (or ≤ `atMost`). */
export function ratioRow(what: string, hub: number | null, peer: number | null, peerName: string, fmt: (n: number) => string, bound: { atLeast: number } | { atMost: number }): ScoreRow {
  const ratio = hub !== null && peer !== null && peer > 0 ? hub / peer : null;
  const target = 'atLeast' in bound ? `≥ ${bound.atLeast} ×` : `≤ ${bound.atMost} ×`;
  return {
    what,
    figure: hub === null ? '-' : fmt(hub),
    peer: peer === null ? `${peerName} -` : `${peerName} ${fmt(peer)}`,
    ratio,
    target,
    verdict: judge(ratio, (r) => ('atLeast' in bound ? r >= bound.atLeast : r <= bound.atMost)),
  };
}

/** A row judged on the hub's own figure against a bound. */
export function boundRow(what: string, value: number | null, fmt: (n: number) => string, bound: { atLeast: number } | { atMost: number }): ScoreRow {
  const target = 'atLeast' in bound ? `≥ ${fmt(bound.atLeast)}` : `≤ ${fmt(bound.atMost)}`;
  return {
    what,
    figure: value === null ? '-' : fmt(value),
    peer: '',
    ratio: null,
    target,
    verdict: judge(value, (v) => ('atLeast' in bound ? v >= bound.atLeast : v <= bound.atMost)),
  };
}

/** A row shown but not judged; `why` goes in the target column. */
export const printedRow = (what: string, figure: string, peer: string, ratio: number | null, why: string): ScoreRow => ({ what, figure, peer, ratio, target: why, verdict: 'printed' });

export const SCOREBOARD_START = '<!-- scoreboard:start (npm run bench -- report writes this part; do not edit) -->';
export const SCOREBOARD_END = '<!-- scoreboard:end -->';

const cell = (text: string): string => text.replaceAll('|', '\\|');

const machineText = (m: MachineInfo): string => `${m.cores} cores ${m.cpuModel.trim()}, Node ${m.node.replace(/^v/, '')}`;

/** `2026-12-06 07:29 UTC` */
const dateText = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/** The latest result per benchmark (by startedAt), in the order of `names`, then any others by name. */
export function latestPerBenchmark(results: readonly ScoredResult[], names: readonly string[]): ScoredResult[] {
  const latest = new Map<string, ScoredResult>();
  for (const r of results) {
    const seen = latest.get(r.benchmark);
    if (!seen || r.startedAt > seen.startedAt) latest.set(r.benchmark, r);
  }
  const order = [...names, ...[...latest.keys()].filter((n) => !names.includes(n)).sort()];
  return order.flatMap((n) => latest.get(n) ?? []);
}

/** The Markdown scoreboard (markers excluded): one table row per score row, then the benchmarks that have no result. */
export function renderScoreboard(results: readonly ScoredResult[], names: readonly string[]): string {
  const latest = latestPerBenchmark(results, names);
  const lines = [
    '| benchmark | what | hub | peer (same run) | ratio | target | verdict | machine | date |',
    '| --- | --- | ---: | ---: | ---: | --- | --- | --- | --- |',
  ];
  for (const r of latest) {
    for (const row of r.rows) {
      const ratio = row.ratio === null ? '' : row.ratio.toFixed(2);
      lines.push(`| ${[r.benchmark, row.what, row.figure, row.peer, ratio, row.target, row.verdict, machineText(r.machine), dateText(r.startedAt)].map(cell).join(' | ')} |`);
    }
  }
  const missing = names.filter((n) => !latest.some((r) => r.benchmark === n));
  if (missing.length > 0) lines.push('', `No result yet in bench/results/ for: ${missing.join(', ')}.`);
  return lines.join('\n');
}

/** `readme` with the part between the markers replaced by `scoreboard`; throws when the markers are missing. */
export function spliceScoreboard(readme: string, scoreboard: string): string {
  const start = readme.indexOf(SCOREBOARD_START);
  const end = readme.indexOf(SCOREBOARD_END);
  if (start < 0 || end < start) throw new Error(`bench/README.md has no "${SCOREBOARD_START}" … "${SCOREBOARD_END}" markers`);
  return `${readme.slice(0, start + SCOREBOARD_START.length)}\n\n${scoreboard}\n\n${readme.slice(end)}`;
}

/** The text between the markers, as spliceScoreboard wrote it. */
export function scoreboardIn(readme: string): string | null {
  const start = readme.indexOf(SCOREBOARD_START);
  const end = readme.indexOf(SCOREBOARD_END);
  return start < 0 || end < start ? null : readme.slice(start + SCOREBOARD_START.length, end).trim();
}

/** The rows as a plain-text table for the end of a run. */
export function formatRows(rows: readonly ScoreRow[]): string {
  const header = ['what', 'hub', 'peer (same run)', 'ratio', 'target', 'verdict'];
  const body = rows.map((r) => [r.what, r.figure, r.peer, r.ratio === null ? '' : r.ratio.toFixed(2), r.target, r.verdict]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all.map((row) => `  ${row.map((c, i) => c.padEnd(widths[i] as number)).join('  ')}`.trimEnd()).join('\n');
}
