/**
 * `npm run bench -- report`: the latest result of each benchmark in
 * bench/results/ becomes the scoreboard in bench/README.md, between its
 * markers, so the figures there are never typed by hand.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_DIR } from './harness.js';
import { renderScoreboard, spliceScoreboard, type ScoredResult } from './scoreboard.js';

export const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** Every result file directly in `dir` that carries scoreboard rows (older files without them are skipped). */
export function readResults(dir: string = RESULTS_DIR): ScoredResult[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => {
      const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Partial<ScoredResult>;
      return typeof r.benchmark === 'string' && typeof r.startedAt === 'string' && Array.isArray(r.rows) && r.machine ? [r as ScoredResult] : [];
    });
}

/** The scoreboard of `dir` for the benchmarks `names`. */
export const reportOf = (names: readonly string[], dir: string = RESULTS_DIR): string => renderScoreboard(readResults(dir), names);

/** Rewrites the README's scoreboard; returns whether it changed. */
export function writeReport(names: readonly string[], dir: string = RESULTS_DIR, readme: string = README): boolean {
  const before = readFileSync(readme, 'utf8');
  const after = spliceScoreboard(before, reportOf(names, dir));
  if (after !== before) writeFileSync(readme, after);
  return after !== before;
}
