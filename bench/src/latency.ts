/**
 * latency benchmark (issue 8): device publish → dashboard socket at 50 % and 80 % of max ingest: p50/p99.
 * Skeleton: replaced by the real benchmark.
 */
import { BenchUsageError } from './lib/flags.js';

export const LATENCY_DESCRIPTION = 'device publish → dashboard socket at 50 % and 80 % of max ingest: p50/p99';

export const LATENCY_HELP = `npm run bench -- latency [options]
`;

export async function runLatency(_argv: readonly string[]): Promise<number> {
  throw new BenchUsageError('latency is not built yet');
}
