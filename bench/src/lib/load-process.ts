/**
 * device-sim's load mode (`device-sim load`) as a child process: telemetry
 * from pre-provisioned devices at a fixed rate or flat out, QoS 1 (default)
 * or 0, against the hub or a peer that accepts anyone (the credentials file
 * then just names the devices), with its own event loop and
 * CPU, so a benchmark that times something else in this process is not
 * delayed by the load generator's work (and the two CPUs are measured apart).
 *
 * The window is ended with SIGINT (the CLI aborts the window, drains the
 * PUBACKs and prints its JSON report), so the caller decides when the load
 * stops; `maxDurationMs` is only the upper bound.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoadReport } from '@iot-hub/device-sim';

/** bench/dist/lib/load-process.js → device-sim/dist/cli.js */
export const DEVICE_SIM_CLI = fileURLToPath(new URL('../../../device-sim/dist/cli.js', import.meta.url));

export interface LoadProcessOptions {
  /** Used by the CLI only to provision missing devices: none are missing with a credentials file. */
  hubUrl?: string;
  mqttUrl: string;
  /** Credentials file (`{"devices":[{"id","token","kind"}]}`) holding every load device, so the CLI provisions nothing. */
  credentialsFile: string;
  devices: number;
  /** Ids are `${idPrefix}${n}` padded to the width of `devices`, as the CLI builds them. */
  idPrefix: string;
  /** Aggregate msgs/s; flat out when absent. */
  rate?: number;
  /** Default 1. */
  qos?: 0 | 1;
  /** Messages in flight per device, default 4 (QoS 0: writes not yet taken by the kernel). */
  inflight?: number;
  /** Upper bound of the publishing window; stop() usually ends it first. */
  maxDurationMs: number;
  /** Where the CLI's stderr (log and progress lines) goes. */
  logFile: string;
}

/** The numbers of one `load …s sent … acked …` progress line. */
export interface LoadProgress {
  line: string;
  second: number;
  sent: number;
  acked: number;
  /** Acked msgs/s over the last second, as the line says. */
  ackedPerSec: number;
  /** Publish → PUBACK p99 over the last second; null when nothing was acknowledged in it. */
  ackP99Ms: number | null;
}

export interface LoadProcess {
  pid: number;
  /** Resolves once every device is connected and publishing (at the first progress line, about 1 s into the window). */
  publishing: Promise<void>;
  /** The latest progress line, for the caller's own progress line. */
  readonly lastProgress: LoadProgress | undefined;
  /** Every progress line so far, one a second (an hour's soak keeps 3,600). */
  readonly progress: readonly LoadProgress[];
  /** Ends the window (SIGINT), waits for the drain and the report; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<{ report: LoadReport | undefined; code: number | null; signal: NodeJS.Signals | null }>;
}

/** Builds `${idPrefix}${n}` ids exactly as the CLI does, so a credentials file can hold them. */
export function loadDeviceIds(idPrefix: string, devices: number): string[] {
  const width = String(devices).length;
  return Array.from({ length: devices }, (_, i) => `${idPrefix}${String(i + 1).padStart(width, '0')}`);
}

const PROGRESS = /^load\s+(\d+)s\s+sent (\d+)\s+acked (\d+).*?\s(\d+) acked\/s(?:.*?p99 ([\d.]+) ms)?/;

export function startLoadProcess(options: LoadProcessOptions): LoadProcess {
  const args = [
    DEVICE_SIM_CLI,
    'load',
    '--hub', options.hubUrl ?? 'http://127.0.0.1:1',
    '--mqtt', options.mqttUrl,
    '--credentials', options.credentialsFile,
    '--devices', String(options.devices),
    '--id-prefix', options.idPrefix,
    '--duration', `${Math.ceil(options.maxDurationMs / 1000)}s`,
    '--qos', String(options.qos ?? 1),
    '--inflight', String(options.inflight ?? 4),
    ...(options.rate === undefined ? [] : ['--rate', String(options.rate)]),
    '--json',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(options.logFile);
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  let lastProgress: LoadProgress | undefined;
  const progress: LoadProgress[] = [];
  let lastLines: string[] = [];
  const publishing = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    void exited.then(({ code, signal }) => {
      reject(new Error(`the load generator exited before publishing (code ${code}, signal ${signal}): ${lastLines.join(' | ') || 'no output'}`));
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      log.write(`${line}\n`);
      lastLines = [...lastLines.slice(-2), line];
      const m = PROGRESS.exec(line);
      if (m) {
        lastProgress = { line, second: Number(m[1]), sent: Number(m[2]), acked: Number(m[3]), ackedPerSec: Number(m[4]), ackP99Ms: m[5] === undefined ? null : Number(m[5]) };
        progress.push(lastProgress);
        resolve();
      }
    });
  });
  // Settled either way; a caller that never awaits it must not see an unhandled rejection.
  publishing.catch(() => {});

  return {
    pid: child.pid as number,
    publishing,
    get lastProgress() {
      return lastProgress;
    },
    progress,
    async stop(timeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const ended = await exited;
      clearTimeout(timer);
      log.end();
      let report: LoadReport | undefined;
      try {
        report = JSON.parse(stdout) as LoadReport;
      } catch {
        report = undefined; // killed, or failed before its report: the caller says so
      }
      return { report, ...ended };
    },
  };
}
