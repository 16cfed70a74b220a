/** Library API of @iot-hub/conformance: run the FP-9 checklist against a connected device. */
export { runConformance, defaultObserveSec, RunnerError, type ConformanceOptions } from './runner.js';
export { CHECKS, formatReport, type CheckId, type CheckResult, type CheckStatus, type ConformanceReport } from './report.js';
export { parseCli, parseValue, HELP, UsageError, type CliCommand } from './cli-args.js';
export { chooseCommand } from './checks/commands.js';
