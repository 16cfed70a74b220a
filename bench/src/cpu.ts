/**
 * cpu benchmark (issue 8): hub CPU per stored message at 20,000 msgs/s vs bare aedes CPU per relayed message.
 * Skeleton: replaced by the real benchmark.
 */
import { BenchUsageError } from './lib/flags.js';

export const CPU_DESCRIPTION = 'hub CPU per stored message at 20,000 msgs/s vs bare aedes CPU per relayed message';

export const CPU_HELP = `npm run bench -- cpu [options]
`;

export async function runCpu(_argv: readonly string[]): Promise<number> {
  throw new BenchUsageError('cpu is not built yet');
}
