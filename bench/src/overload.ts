/**
 * overload benchmark (issue 8): 100 QoS 0 publishers flood with no flow control, then all disconnect: hub stays up, RSS bound, push-back.
 * Skeleton: replaced by the real benchmark.
 */
import { BenchUsageError } from './lib/flags.js';

export const OVERLOAD_DESCRIPTION = '100 QoS 0 publishers flood with no flow control, then all disconnect: hub stays up, RSS bound, push-back';

export const OVERLOAD_HELP = `npm run bench -- overload [options]
`;

export async function runOverload(_argv: readonly string[]): Promise<number> {
  throw new BenchUsageError('overload is not built yet');
}
