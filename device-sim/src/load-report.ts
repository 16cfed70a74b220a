/** The load report as an aligned two-column table, for the CLI. */
import type { LoadReport } from './load.js';

export function formatLoadReport(r: LoadReport): string {
  const ms = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(1)} ms`);
  const rows: [string, string][] = [
    ['devices connected', `${r.connected} / ${r.devices} (${(r.connectMs / 1000).toFixed(1)} s)`],
    ['QoS / in flight', `${r.qos} / ${r.inflight}`],
    ['rate', r.rate === null ? 'flat out' : `${r.rate} msgs/s target`],
    ['window', `${(r.durationMs / 1000).toFixed(1)} s (+ ${(r.drainMs / 1000).toFixed(1)} s drain)`],
    ['sent', String(r.sent)],
    ['acked', String(r.acked)],
    ['failed', String(r.failed)],
    ['sent/s', r.sentPerSec.toFixed(0)],
    ['acked/s', r.ackedPerSec.toFixed(0)],
    ['publish→PUBACK p50', ms(r.ackLatencyMs?.p50)],
    ['publish→PUBACK p99', ms(r.ackLatencyMs?.p99)],
    ['publish→PUBACK max', ms(r.ackLatencyMs?.max)],
    ['load generator CPU', `${r.cpu.percentOfOneCore.toFixed(0)} % of one core`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const errors = Object.entries(r.errors).map(([message, n]) => `  ${n} × ${message}\n`);
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join('') + (errors.length ? `errors:\n${errors.join('')}` : '');
}
