/** The pass/fail rules of the wire fuzzers, shared by the tap tests and `npm run fuzz`. */
import type { FuzzReport } from './fuzz-harness.js';

/**
 * End RSS (after the settle) may be at most this many times the baseline.
 * V8 keeps heap pages it grew into and glibc keeps freed arenas, so RSS does
 * not fall back to the baseline after a burst; a leak proportional to the
 * packets would still pass this bound over a long run.
 */
export const RSS_FACTOR = 2;

export function fuzzProblems(report: FuzzReport): string[] {
  const problems: string[] = [];
  if (!report.hubAlive) problems.push('the hub process died');
  if (report.healthz !== 200) problems.push(`/healthz answered ${report.healthz}`);
  for (const c of report.control) {
    if (!c.exactlyOnce) problems.push(`${c.device}: sent ${c.sent} seqs, ${c.stored} stored (each must be stored exactly once)`);
    if (c.errors.length > 0) problems.push(`${c.device}: ${c.errors.slice(0, 3).join('; ')}`);
    if (c.sent === 0) problems.push(`${c.device}: sent nothing`);
  }
  if (!(report.rssKb.end <= report.rssKb.baseline * RSS_FACTOR)) problems.push(`end RSS ${report.rssKb.end} kB is above ${RSS_FACTOR}× the baseline ${report.rssKb.baseline} kB`);
  // Input is the client's fault: the hub answers it with a 4xx or a close, never with its own failure.
  for (const fault of report.hubFaults.slice(0, 5)) problems.push(`the hub failed on input: ${fault}`);
  return problems;
}
