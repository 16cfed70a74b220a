/**
 * The checklist the runner prints: one line per check, in a fixed order,
 * each with the spec clause it checks and, unless it passed, what was seen.
 * `warn` marks a SHOULD or a recommendation the device does not follow; only
 * `fail` (a MUST, or what the hub relies on) makes the run fail.
 */

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface CheckDefinition {
  id: string;
  /** The clause of firmware-protocol.md it checks, as the code cites it: `FP-4.4`. */
  clause: string;
  title: string;
}

/** Every check, in the order they are printed. */
export const CHECKS = [
  { id: 'connected', clause: 'FP-4.1', title: 'the device is connected and has sent hello' },
  { id: 'hello-after-connect', clause: 'FP-4.1', title: 'hello after every connect, before telemetry' },
  { id: 'hello-boot', clause: 'FP-4.1', title: 'hello names the boot (recommended)' },
  { id: 'state-after-hello', clause: 'FP-4.3', title: 'state reported after hello' },
  { id: 'desired-connected', clause: 'FP-4.3', title: 'desired state changed while connected: applied, reported with its version' },
  { id: 'desired-away', clause: 'FP-4.3', title: 'desired state changed while away: applied, reported after reconnecting' },
  { id: 'command-duplicate', clause: 'FP-4.4', title: 'a repeated command id is executed once, answered with the same result' },
  { id: 'command-expired', clause: 'FP-4.4', title: 'a command past its expiresAt is not executed' },
  { id: 'command-final', clause: 'FP-4.5', title: 'one final result for every command delivered' },
  { id: 'command-ack-once', clause: 'FP-4.5', title: 'at most one acknowledged per command' },
  { id: 'seq', clause: 'FP-4.2', title: 'seq starts at 0 per boot and grows by 1 per sample' },
  { id: 'batch-fields', clause: 'FP-4.2', title: 'a batch carries ts, age and seq on its samples, not on the message' },
  { id: 'heartbeat', clause: 'FP-5', title: 'a message at least every heartbeatSec' },
] as const satisfies readonly CheckDefinition[];

export type CheckId = (typeof CHECKS)[number]['id'];

export interface CheckResult extends CheckDefinition {
  id: CheckId;
  status: CheckStatus;
  /** What was seen: why it failed, warned or was skipped, or what passed. */
  detail: string;
}

export interface ConformanceReport {
  deviceId: string;
  hubUrl: string;
  startedAt: number;
  finishedAt: number;
  checks: CheckResult[];
  counts: Record<CheckStatus, number>;
  /** Nothing failed. */
  ok: boolean;
}

/** Collects results as checks finish; any check never reported is skipped with `why`. */
export class Checklist {
  private readonly results = new Map<CheckId, { status: CheckStatus; detail: string }>();

  set(id: CheckId, status: CheckStatus, detail: string): void {
    this.results.set(id, { status, detail });
  }

  has(id: CheckId): boolean {
    return this.results.has(id);
  }

  /** The report in CHECKS order; checks without a result are skipped with `why`. */
  report(meta: { deviceId: string; hubUrl: string; startedAt: number }, why: string): ConformanceReport {
    const checks: CheckResult[] = CHECKS.map((c) => ({ ...c, ...(this.results.get(c.id) ?? { status: 'skip' as const, detail: why }) }));
    const counts: Record<CheckStatus, number> = { pass: 0, fail: 0, warn: 0, skip: 0 };
    for (const c of checks) counts[c.status] += 1;
    return { ...meta, finishedAt: Date.now(), checks, counts, ok: counts.fail === 0 };
  }
}

const LABELS: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP' };

/** The checklist as text, one line per check plus its detail. */
export function formatReport(report: ConformanceReport): string {
  const lines = [`Conformance of device ${report.deviceId} at ${report.hubUrl} (firmware-protocol.md FP-9)`, ''];
  for (const c of report.checks) {
    lines.push(`${LABELS[c.status]}  [${c.clause}] ${c.title}`);
    if (c.detail !== '') lines.push(`        ${c.detail}`);
  }
  const { pass, fail, warn, skip } = report.counts;
  lines.push('', `${pass} passed, ${fail} failed, ${warn} warnings, ${skip} skipped in ${Math.round((report.finishedAt - report.startedAt) / 1000)} s`);
  return lines.join('\n') + '\n';
}
