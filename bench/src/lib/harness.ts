/**
 * What every benchmark does around its measurement: flags and --help, the
 * machine and start time, a temp dir removed at the end (kept with
 * --keep-data), the printed report with its scoreboard rows, the result
 * JSON and the exit code. A benchmark file says only what it measures:
 *
 *   export const latency = defineBenchmark({ name, description, help, parse, measure });
 *
 * Results: a full run writes bench/results/NAME.json, which is committed
 * (git keeps the history; `npm run bench -- report` builds the README's
 * scoreboard from these files). A `--quick` run writes
 * bench/results/quick/NAME.json, which git ignores, so a short check never
 * replaces a published figure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchLog } from './flags.js';
import { machineInfo, type MachineInfo } from './machine.js';
import { formatRows, type ScoreRow } from './scoreboard.js';

export const RESULTS_DIR = fileURLToPath(new URL('../../results/', import.meta.url));
export const QUICK_RESULTS_DIR = join(RESULTS_DIR, 'quick');

let resultsDir = RESULTS_DIR;

/** Called by run.ts for `--quick`: results go where git ignores them. */
export function useQuickResults(): void {
  resultsDir = QUICK_RESULTS_DIR;
}

export interface BenchContext {
  startedAt: Date;
  machine: MachineInfo;
  /** A fresh temp dir for hub data, logs and peers; removed at the end unless --keep-data. */
  workDir: string;
  log: (message: string) => void;
}

export interface Measured {
  /** Everything the benchmark measured, stored in the JSON beside the common fields. */
  result: object;
  /** The judged rows (bench/README.md's scoreboard comes from these). */
  rows: ScoreRow[];
  /** The benchmark's own printed report, above the rows. */
  text: string;
  /** Faults that make the run fail whatever the figures (a stored message lost …): printed, exit 1. */
  problems?: string[];
}

export interface BenchmarkSpec<O extends object> {
  name: string;
  description: string;
  help: string;
  parse(argv: readonly string[]): O | 'help';
  measure(options: O, ctx: BenchContext): Promise<Measured>;
}

export interface Benchmark {
  description: string;
  help: string;
  run(argv: readonly string[]): Promise<number>;
}

export function defineBenchmark<O extends object>(spec: BenchmarkSpec<O>): Benchmark {
  return {
    description: spec.description,
    help: spec.help,
    async run(argv) {
      const options = spec.parse(argv);
      if (options === 'help') {
        process.stdout.write(spec.help);
        return 0;
      }
      const ctx: BenchContext = {
        startedAt: new Date(),
        machine: machineInfo(),
        workDir: mkdtempSync(join(tmpdir(), `iot-hub-bench-${spec.name}-`)),
        log: benchLog(spec.name),
      };
      ctx.log(`temp dir (hub data and logs, peers): ${ctx.workDir}`);
      try {
        const measured = await spec.measure(options, ctx);
        return finishRun(spec.name, ctx, argv, options, measured);
      } finally {
        if ((options as { keepData?: boolean }).keepData) ctx.log(`kept ${ctx.workDir}`);
        else rmSync(ctx.workDir, { recursive: true, force: true });
      }
    },
  };
}

/** Prints the report and its rows, writes the JSON; exit 1 on a problem, 0 otherwise (a missed target is a figure, not a failure). */
export function finishRun(name: string, ctx: Pick<BenchContext, 'startedAt' | 'machine'> & { command?: string }, argv: readonly string[], options: object, measured: Measured): number {
  process.stdout.write(`\n${measured.text}\n\nScoreboard rows:\n${formatRows(measured.rows)}\n`);
  const file = writeResult({
    benchmark: name,
    startedAt: ctx.startedAt.toISOString(),
    command: `${ctx.command ?? `npm run bench -- ${name}`} ${argv.join(' ')}`.trim(),
    machine: ctx.machine,
    options,
    rows: measured.rows,
    ...measured.result,
  });
  process.stdout.write(`\nJSON: ${file}\n`);
  for (const p of measured.problems ?? []) process.stderr.write(`[${name}] ${p}\n`);
  return (measured.problems ?? []).length > 0 ? 1 : 0;
}

/** Writes `result` as RESULTS/NAME.json and returns the path. */
export function writeResult(result: { benchmark: string; [field: string]: unknown }): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${result.benchmark}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
