/**
 * The soak run's flags, and where its load rate comes from: --rate, else
 * 30 % of the published SQLite ingest figure (lib/ingest-rate.ts),
 * else a short flat-out measurement at the start of the run.
 */
import { int } from './format.js';
import { BenchUsageError, durationFlag, parseFlags, wholeFlag } from './flags.js';

/** Share of the maximum ingest rate the soak's steady load runs at (issue 8). */
export const SOAK_SHARE = 0.3;
/** Publishing window of the flat-out measurement when no ingest result is at hand. */
export const CALIBRATION_MS = 10_000;

export const SOAK_HELP = `npm run soak -- [options]

Steady QoS 1 load at ${SOAK_SHARE * 100} % of the hub's max ingest for a long time, while devices
connect and disconnect (MQTT and WebSocket) and one dashboard watches all telemetry.
Every interval prints the hub's RSS, heap, event-loop delay, clients, acked msgs/s,
connects, errors and PUBACK p99; the end judges RSS and heap growth against the noise of the
first ten minutes, checks that nothing acknowledged was lost and writes bench/results/soak.json
(--quick anywhere: bench/results/quick/). Ctrl-C ends early and still reports.

  --minutes N          length of the steady phase, may be fractional (default 60)
  --devices N          steady load devices, MQTT (default 1000)
  --rate N             load msgs/s (default: ${SOAK_SHARE * 100} % of "stored msgs/s" in bench/results/ingest.json
                       when it was measured full size on SQLite; when
                       there is none, ${SOAK_SHARE * 100} % of what a ${CALIBRATION_MS / 1000} s flat-out run measures first)
  --measure-max        measure the max with the ${CALIBRATION_MS / 1000} s flat-out run even when an ingest result exists
  --churn P            devices connecting (and as many leaving) per second, as % of --devices
                       (default 1; 0 for none)
  --churn-session D    how long a churning device stays connected: 10s, 1m (default 10s)
  --churn-ws P         % of the churning devices on the WebSocket instead of MQTT (default 50)
  --interval D         progress line and metrics scrape interval (default 10s)
  --hub-arg ARG        extra hub flag, repeatable (e.g. --hub-arg=--log-level --hub-arg=warn)
  --keep-data          keep the hub's temp data dir and the hub and load generator logs
  -h, --help           this help
`;

export interface SoakOptions {
  durationMs: number;
  devices: number;
  rate: number | undefined;
  /** Measure the max ingest rate now instead of taking it from bench/results/. */
  measureMax: boolean;
  /** % of --devices per second. */
  churnPercent: number;
  churnSessionMs: number;
  /** 0..1 */
  churnWsShare: number;
  intervalMs: number;
  hubArgs: string[];
  keepData: boolean;
}

/** A decimal number flag in [min, max], or the fallback when absent. */
function numberFlag(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n < min || n > max) throw new BenchUsageError(`--${flag} must be a number from ${min} to ${max}, got "${text}"`);
  return n;
}

export function parseSoakArgs(argv: readonly string[]): SoakOptions | 'help' {
  const values = parseFlags(argv, {
    minutes: { type: 'string' },
    devices: { type: 'string' },
    rate: { type: 'string' },
    'measure-max': { type: 'boolean' },
    churn: { type: 'string' },
    'churn-session': { type: 'string' },
    'churn-ws': { type: 'string' },
    interval: { type: 'string' },
    'hub-arg': { type: 'string', multiple: true },
    'keep-data': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  const minutes = numberFlag('minutes', values.minutes, 60, 0.1, 100_000);
  const intervalMs = durationFlag('interval', values.interval, '10s');
  if (values.rate !== undefined && values['measure-max']) throw new BenchUsageError('--rate and --measure-max exclude each other');
  if (intervalMs < 1000) throw new BenchUsageError(`--interval must be at least 1s, got "${values.interval}"`);
  const churnSessionMs = durationFlag('churn-session', values['churn-session'], '10s');
  if (churnSessionMs < 1000) throw new BenchUsageError(`--churn-session must be at least 1s, got "${values['churn-session']}"`);
  return {
    durationMs: Math.round(minutes * 60_000),
    devices: wholeFlag('devices', values.devices, 1000),
    rate: values.rate === undefined ? undefined : wholeFlag('rate', values.rate, 0),
    measureMax: values['measure-max'] ?? false,
    churnPercent: numberFlag('churn', values.churn, 1, 0, 100),
    churnSessionMs,
    churnWsShare: numberFlag('churn-ws', values['churn-ws'], 50, 0, 100) / 100,
    intervalMs,
    hubArgs: values['hub-arg'] ?? [],
    keepData: values['keep-data'] ?? false,
  };
}


export function describeRate(share: number, maxPerSec: number, from: string): string {
  return `${share * 100} % of ${int(maxPerSec)} msgs/s ${from}`;
}
