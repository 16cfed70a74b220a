/** Every benchmark by name, in the order `npm run bench` runs them and the scoreboard lists them. */
import { CLUSTER_DESCRIPTION, CLUSTER_HELP, runCluster } from './cluster.js';
import { COMMANDS_HELP, runCommands } from './commands.js';
import { CONNS_DESCRIPTION, CONNS_HELP, runConns } from './conns.js';
import { CPU_DESCRIPTION, CPU_HELP, runCpu } from './cpu.js';
import { DASHBOARD_HELP, runDashboard } from './dashboard.js';
import { FANOUT_DESCRIPTION, FANOUT_HELP, runFanout } from './fanout.js';
import { INFLUX_HELP, runInflux } from './influx.js';
import { INGEST_HELP, runIngest } from './ingest.js';
import { latency } from './latency.js';
import type { Benchmark } from './lib/harness.js';
import { OVERLOAD_DESCRIPTION, OVERLOAD_HELP, runOverload } from './overload.js';
import { RELAY_DESCRIPTION, RELAY_HELP, runRelay } from './relay.js';
import { STORM_DESCRIPTION, STORM_HELP, runStorm } from './storm.js';

export interface Registered extends Benchmark {
  /** Flags a `--quick` run puts before the user's own (the user's win): seconds and a few devices, to check the benchmark works, not to measure. */
  quick: string[];
}

export const BENCHMARKS = new Map<string, Registered>([
  ['ingest', {
    description: 'highest lossless rate of 1,000 QoS 1 MQTT devices into InfluxDB with 10 dashboards, vs Node-RED behind tuned Mosquitto and Mosquitto\'s own QoS 1 relay rate',
    help: INGEST_HELP,
    run: runIngest,
    quick: ['--devices', '50', '--dashboards', '1', '--duration', '3s', '--search-steps', '0'],
  }],
  ['influx', {
    description: 'hub with --store influx, 1,000 MQTT devices: POSTs per 10k points, publish→queryable p99; points/s vs a bare writer printed',
    help: INFLUX_HELP,
    run: runInflux,
    quick: ['--devices', '50', '--duration', '3s'],
  }],
  ['commands', {
    description: 'command round trip API → device → result → dashboard, idle and under 80 % of ingest, vs the bare command relay in the same run',
    help: COMMANDS_HELP,
    run: runCommands,
    quick: ['--devices', '50', '--ws-devices', '5', '--duration', '3s', '--warmup', '1s', '--rate', '20', '--load-devices', '50', '--load-rate', '500'],
  }],
  ['dashboard', {
    description: 'the overview in headless Chromium with 1,000 devices at 1 Hz: publish → DOM p50/p99, long tasks per minute, JS heap',
    help: DASHBOARD_HELP,
    run: runDashboard,
    quick: ['--devices', '50', '--duration', '5s'],
  }],
  ['relay', { description: RELAY_DESCRIPTION, help: RELAY_HELP, run: runRelay, quick: ['--duration', '2s', '--warmup', '1s', '--publishers', '1,10'] }],
  ['cpu', { description: CPU_DESCRIPTION, help: CPU_HELP, run: runCpu, quick: ['--devices', '50', '--rate', '1000', '--duration', '3s', '--warmup', '1s'] }],
  ['latency', { ...latency, quick: ['--rates', '200,500', '--window', '3s', '--warmup', '1s'] }],
  ['conns', { description: CONNS_DESCRIPTION, help: CONNS_HELP, run: runConns, quick: ['--devices', '200', '--settle', '1s', '--window', '1s'] }],
  ['storm', { description: STORM_DESCRIPTION, help: STORM_HELP, run: runStorm, quick: ['--devices', '200', '--hold', '1s'] }],
  ['fanout', { description: FANOUT_DESCRIPTION, help: FANOUT_HELP, run: runFanout, quick: ['--devices', '100', '--dashboards', '4', '--window', '3s', '--warmup', '1s'] }],
  ['overload', { description: OVERLOAD_DESCRIPTION, help: OVERLOAD_HELP, run: runOverload, quick: ['--publishers', '10', '--duration', '3s', '--settle', '2s'] }],
  ['cluster', { description: CLUSTER_DESCRIPTION, help: CLUSTER_HELP, run: runCluster, quick: ['--devices', '50', '--rate', '200', '--duration', '3s', '--commands', '10', '--failover-devices', '20', '--silent-devices', '5'] }],
]);

/** `npm run soak` writes results too; the scoreboard lists it after the others. */
export const SCOREBOARD_NAMES = [...BENCHMARKS.keys(), 'soak'];
