#!/usr/bin/env node
/**
 * `npm run conformance -- --device ID`: runs the checklist against a
 * connected device and prints it. The only place that reads process.env,
 * prints and exits: 0 nothing failed, 1 a check failed, 2 no run.
 */
import { HELP, UsageError, parseCli, type CliCommand } from './cli-args.js';
import { formatReport } from './report.js';
import { RunnerError, runConformance } from './runner.js';

async function main(): Promise<number> {
  let command: CliCommand;
  try {
    command = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`conformance: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (command.command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    const report = await runConformance({ ...command.options, progress: (line) => process.stderr.write(`… ${line}\n`) });
    process.stdout.write(command.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof RunnerError) {
      process.stderr.write(`conformance: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`conformance: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 2;
  },
);
