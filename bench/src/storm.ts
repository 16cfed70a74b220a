/**
 * storm benchmark (issue 8): 10,000 authenticated devices connect and reconnect: connects/s.
 * Skeleton: replaced by the real benchmark.
 */
import { BenchUsageError } from './lib/flags.js';

export const STORM_DESCRIPTION = '10,000 authenticated devices connect and reconnect: connects/s';

export const STORM_HELP = `npm run bench -- storm [options]
`;

export async function runStorm(_argv: readonly string[]): Promise<number> {
  throw new BenchUsageError('storm is not built yet');
}
