/**
 * relay benchmark (issue 8): 1 → 1 and 100 → 1 publishers, QoS 0 and 1: hub (storage and fan-out on) vs bare aedes msgs/s.
 * Skeleton: replaced by the real benchmark.
 */
import { BenchUsageError } from './lib/flags.js';

export const RELAY_DESCRIPTION = '1 → 1 and 100 → 1 publishers, QoS 0 and 1: hub (storage and fan-out on) vs bare aedes msgs/s';

export const RELAY_HELP = `npm run bench -- relay [options]
`;

export async function runRelay(_argv: readonly string[]): Promise<number> {
  throw new BenchUsageError('relay is not built yet');
}
