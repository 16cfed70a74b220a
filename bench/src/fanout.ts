/**
 * fanout benchmark (issue 8): 200 dashboards each subscribed to 1,000 devices at 1 Hz: delivery within 100 ms, slow-dashboard isolation.
 * Skeleton: replaced by the real benchmark.
 */
import { BenchUsageError } from './lib/flags.js';

export const FANOUT_DESCRIPTION = '200 dashboards each subscribed to 1,000 devices at 1 Hz: delivery within 100 ms, slow-dashboard isolation';

export const FANOUT_HELP = `npm run bench -- fanout [options]
`;

export async function runFanout(_argv: readonly string[]): Promise<number> {
  throw new BenchUsageError('fanout is not built yet');
}
