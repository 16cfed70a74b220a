/** Runs the checklist against a device of a test hub, kept short: heartbeatSec 5 devices, 8 s quiet window, 5 s per answer. */
import type { TestHub } from '../../../hub/test/helpers/hub.js';
import { runConformance, type ConformanceOptions } from '../../src/runner.js';
import type { CheckId, CheckStatus, ConformanceReport } from '../../src/report.js';

export function runAgainst(hub: TestHub, deviceId: string, extra: Partial<ConformanceOptions> = {}): Promise<ConformanceReport> {
  return runConformance({ hubUrl: hub.httpUrl, token: hub.adminToken, deviceId, observeSec: 8, timeoutMs: 5000, key: 'target', value: 22.5, ...extra });
}

export function withStatus(report: ConformanceReport, status: CheckStatus): CheckId[] {
  return report.checks.filter((c) => c.status === status).map((c) => c.id);
}

/** For a failing assertion's message: every line of the report. */
export function describe(report: ConformanceReport): string {
  return report.checks.map((c) => `${c.status} ${c.id}: ${c.detail}`).join('\n');
}
