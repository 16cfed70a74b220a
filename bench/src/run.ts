#!/usr/bin/env node
/**
 * `npm run bench` runs every benchmark; `npm run bench -- NAME [flags]` runs
 * one; `--quick` anywhere makes it a seconds-long check whose result git
 * ignores; `npm run bench -- report` writes bench/README.md's scoreboard
 * from bench/results/. Benchmarks measure and report; they are never part of
 * `npm test`.
 */
import { BENCHMARKS, SCOREBOARD_NAMES } from './benchmarks.js';
import { BenchUsageError } from './lib/flags.js';
import { useQuickResults } from './lib/harness.js';
import { README, writeReport } from './lib/report.js';

function list(): string {
  return [...BENCHMARKS].map(([name, b]) => `  ${name.padEnd(10)} ${b.description}`).join('\n');
}

async function runOne(name: string, argv: readonly string[], quick: boolean): Promise<number> {
  const benchmark = BENCHMARKS.get(name);
  if (!benchmark) {
    process.stderr.write(`bench: unknown benchmark "${name}"; available:\n${list()}\n`);
    return 2;
  }
  try {
    return await benchmark.run(quick ? [...benchmark.quick, ...argv] : argv);
  } catch (err) {
    process.stderr.write(`bench ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof BenchUsageError ? 2 : 1;
  }
}

async function main(all: string[]): Promise<number> {
  const quick = all.includes('--quick');
  if (quick) useQuickResults();
  const [name, ...rest] = all.filter((a) => a !== '--quick');
  if (name === '--help' || name === '-h') {
    process.stdout.write(`npm run bench [-- NAME [flags]] [--quick]\nnpm run bench -- report\n\nBenchmarks:\n${list()}\n\n${[...BENCHMARKS.values()].map((b) => b.help).join('\n')}`);
    return 0;
  }
  if (name === 'report') {
    const changed = writeReport(SCOREBOARD_NAMES);
    process.stdout.write(`${README}: scoreboard ${changed ? 'rewritten' : 'already up to date'}\n`);
    return 0;
  }
  if (name === undefined) {
    let code = 0;
    for (const n of BENCHMARKS.keys()) code = Math.max(code, await runOne(n, [], quick));
    return code;
  }
  if (name.startsWith('-')) {
    process.stderr.write(`bench: flags need a benchmark name first, e.g. npm run bench -- ingest ${all.join(' ')}\n`);
    return 2;
  }
  return runOne(name, rest, quick);
}

process.exitCode = await main(process.argv.slice(2));
