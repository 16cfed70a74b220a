/**
 * conns benchmark (issue 8): idle MQTT and WS devices held: memory per connection vs bare aedes and bare ws.
 * Skeleton: replaced by the real benchmark.
 */
import { BenchUsageError } from './lib/flags.js';

export const CONNS_DESCRIPTION = 'idle MQTT and WS devices held: memory per connection vs bare aedes and bare ws';

export const CONNS_HELP = `npm run bench -- conns [options]
`;

export async function runConns(_argv: readonly string[]): Promise<number> {
  throw new BenchUsageError('conns is not built yet');
}
