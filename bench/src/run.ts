#!/usr/bin/env node
/**
 * `npm run bench` runs every benchmark; `npm run bench -- NAME [flags]` runs
 * one. Benchmarks measure and report; they are never part of `npm test`.
 */
import { INGEST_HELP, runIngest } from './ingest.js';
import { BenchUsageError } from './lib/flags.js';
import { INFLUX_HELP, runInflux } from './influx.js';
import { COMMANDS_HELP, runCommands } from './commands.js';
import { DASHBOARD_HELP, runDashboard } from './dashboard.js';
import { RELAY_DESCRIPTION, RELAY_HELP, runRelay } from './relay.js';
import { CPU_DESCRIPTION, CPU_HELP, runCpu } from './cpu.js';
import { LATENCY_DESCRIPTION, LATENCY_HELP, runLatency } from './latency.js';
import { CONNS_DESCRIPTION, CONNS_HELP, runConns } from './conns.js';
import { STORM_DESCRIPTION, STORM_HELP, runStorm } from './storm.js';
import { FANOUT_DESCRIPTION, FANOUT_HELP, runFanout } from './fanout.js';
import { OVERLOAD_DESCRIPTION, OVERLOAD_HELP, runOverload } from './overload.js';
import { CLUSTER_DESCRIPTION, CLUSTER_HELP, runCluster } from './cluster.js';
import { RULES_DESCRIPTION, RULES_HELP, runRules } from './rules.js';

interface Benchmark {
  description: string;
  help: string;
  run(argv: readonly string[]): Promise<number>;
}

const BENCHMARKS: Record<string, Benchmark> = {
  ingest: {
    description: 'highest lossless rate of 1,000 QoS 1 MQTT devices into InfluxDB with 10 dashboards, vs Node-RED behind stock and tuned Mosquitto',
    help: INGEST_HELP,
    run: runIngest,
  },
  influx: {
    description: 'hub with --store influx, 1,000 MQTT devices: points/s landed in InfluxDB vs a bare writer, POSTs per 10k points, publish→queryable p99',
    help: INFLUX_HELP,
    run: runInflux,
  },
  commands: {
    description: 'command round trip API → device → result → dashboard with 1,000 devices, idle and under telemetry load: p50/p95/p99/max vs targets',
    help: COMMANDS_HELP,
    run: runCommands,
  },
  dashboard: {
    description: 'the overview in headless Chromium with 1,000 devices at 1 Hz: publish → DOM p50/p99, long tasks per minute, JS heap',
    help: DASHBOARD_HELP,
    run: runDashboard,
  },
  relay: { description: RELAY_DESCRIPTION, help: RELAY_HELP, run: runRelay },
  cpu: { description: CPU_DESCRIPTION, help: CPU_HELP, run: runCpu },
  latency: { description: LATENCY_DESCRIPTION, help: LATENCY_HELP, run: runLatency },
  conns: { description: CONNS_DESCRIPTION, help: CONNS_HELP, run: runConns },
  storm: { description: STORM_DESCRIPTION, help: STORM_HELP, run: runStorm },
  fanout: { description: FANOUT_DESCRIPTION, help: FANOUT_HELP, run: runFanout },
  overload: { description: OVERLOAD_DESCRIPTION, help: OVERLOAD_HELP, run: runOverload },
  cluster: { description: CLUSTER_DESCRIPTION, help: CLUSTER_HELP, run: runCluster },
  rules: { description: RULES_DESCRIPTION, help: RULES_HELP, run: runRules },
};

function list(): string {
  return Object.entries(BENCHMARKS)
    .map(([name, b]) => `  ${name.padEnd(10)} ${b.description}`)
    .join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(`npm run bench [-- NAME [flags]]\n\nBenchmarks:\n${list()}\n\n${Object.values(BENCHMARKS).map((b) => b.help).join('\n')}`);
    return 0;
  }
  if (name === undefined || name.startsWith('-')) {
    // No name: run them all, with default settings (flags need a name).
    if (name !== undefined) {
      process.stderr.write(`bench: flags need a benchmark name first, e.g. npm run bench -- ingest ${argv.join(' ')}\n`);
      return 2;
    }
    let code = 0;
    for (const benchmark of Object.values(BENCHMARKS)) code = Math.max(code, await benchmark.run([]));
    return code;
  }
  const benchmark = BENCHMARKS[name];
  if (!benchmark) {
    process.stderr.write(`bench: unknown benchmark "${name}"; available:\n${list()}\n`);
    return 2;
  }
  try {
    return await benchmark.run(rest);
  } catch (err) {
    if (err instanceof BenchUsageError) {
      process.stderr.write(`bench ${name}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`bench ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
