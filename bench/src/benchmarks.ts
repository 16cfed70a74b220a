/** Every benchmark by name, in the order `npm run bench` runs them and the scoreboard lists them. */
import { CLUSTER_DESCRIPTION, CLUSTER_HELP, runCluster } from './cluster.js';
import { commands } from './commands.js';
import { connsBenchmark } from './conns.js';
import { cpu } from './cpu.js';
import { dashboardBenchmark } from './dashboard.js';
import { fanoutBenchmark } from './fanout.js';
import { influxBenchmark } from './influx.js';
import { ingestBenchmark } from './ingest.js';
import { latency } from './latency.js';
import type { Benchmark } from './lib/harness.js';
import { overloadBenchmark } from './overload.js';
import { relayBenchmark } from './relay.js';
import { RULES_DESCRIPTION, RULES_HELP, runRules } from './rules.js';
import { stormBenchmark } from './storm.js';

export interface Registered extends Benchmark {
  /** Flags a `--quick` run puts before the user's own (the user's win): seconds and a few devices, to check the benchmark works, not to measure. */
  quick: string[];
}

export const BENCHMARKS = new Map<string, Registered>([
  ['ingest', {
    ...ingestBenchmark,
    quick: ['--devices', '50', '--dashboards', '1', '--duration', '3s', '--search-steps', '0'],
  }],
  ['influx', {
    ...influxBenchmark,
    quick: ['--devices', '50', '--duration', '3s'],
  }],
  ['commands', {
    ...commands,
    quick: ['--devices', '50', '--ws-devices', '5', '--duration', '3s', '--warmup', '1s', '--rate', '20', '--load-devices', '50', '--load-rate', '500'],
  }],
  ['dashboard', {
    ...dashboardBenchmark,
    quick: ['--devices', '50', '--duration', '5s'],
  }],
  ['relay', { ...relayBenchmark, quick: ['--duration', '2s', '--warmup', '1s', '--publishers', '1,10'] }],
  ['cpu', { ...cpu, quick: ['--devices', '50', '--rate', '1000', '--duration', '3s', '--warmup', '1s'] }],
  ['latency', { ...latency, quick: ['--rates', '200,500', '--window', '3s', '--warmup', '1s'] }],
  ['conns', { ...connsBenchmark, quick: ['--devices', '200', '--settle', '1s', '--window', '1s'] }],
  ['storm', { ...stormBenchmark, quick: ['--devices', '200', '--hold', '1s'] }],
  ['fanout', { ...fanoutBenchmark, quick: ['--devices', '100', '--dashboards', '4', '--window', '3s', '--warmup', '1s', '--fill-timeout', '5s'] }],
  ['overload', { ...overloadBenchmark, quick: ['--publishers', '10', '--duration', '3s', '--settle', '2s'] }],
  ['rules', { description: RULES_DESCRIPTION, help: RULES_HELP, run: runRules, quick: ['--devices', '100', '--probes', '20', '--duration', '3s', '--crossing-window', '3s'] }],
  ['cluster', { description: CLUSTER_DESCRIPTION, help: CLUSTER_HELP, run: runCluster, quick: ['--devices', '50', '--rate', '200', '--duration', '3s', '--commands', '10', '--failover-devices', '20', '--silent-devices', '5'] }],
]);

/** `npm run soak` writes results too; the scoreboard lists it after the others. */
export const SCOREBOARD_NAMES = [...BENCHMARKS.keys(), 'soak'];
