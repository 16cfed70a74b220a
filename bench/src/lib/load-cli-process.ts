/**
 * `device-sim load` as a child process with any QoS, window and rate
 * (load-process.ts is fixed to QoS 1, 4 in flight and a set rate): the relay
 * benchmark runs it flat out at QoS 0 and 1 against the hub and against
 * peers. Its own process, so its CPU is read from /proc apart from the
 * server's and the subscriber's.
 *
 * The CLI reads every device's credentials from `credentialsFile` and so
 * provisions nothing: against a peer that accepts anyone, any token works.
 * SIGINT ends the window; the CLI drains and prints its JSON report.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { LoadReport } from '@iot-hub/device-sim';
import { DEVICE_SIM_CLI, type LoadProcess, type LoadProgress } from './load-process.js';

export interface LoadCliOptions {
  /** Only used by the CLI to provision missing devices: none are missing here. */
  hubUrl?: string;
  mqttUrl: string;
  credentialsFile: string;
  devices: number;
  /** Ids are `${idPrefix}${n}` padded to the width of `devices`, as the CLI builds them. */
  idPrefix: string;
  qos: 0 | 1;
  /** Messages in flight per device (QoS 0: writes not yet taken by the kernel). */
  inflight: number;
  /** Aggregate msgs/s; flat out when absent. */
  rate?: number;
  /** Upper bound of the publishing window; stop() usually ends it first. */
  maxDurationMs: number;
  /** Where the CLI's stderr (log and progress lines) goes. */
  logFile: string;
}

const PROGRESS = /^load\s+(\d+)s\s+sent (\d+)\s+acked (\d+).*?\s(\d+) acked\/s/;

/** Builds `${idPrefix}${n}` ids exactly as the CLI does, so a credentials file can hold them. */
export function loadDeviceIds(idPrefix: string, devices: number): string[] {
  const width = String(devices).length;
  return Array.from({ length: devices }, (_, i) => `${idPrefix}${String(i + 1).padStart(width, '0')}`);
}

export function startLoadCli(options: LoadCliOptions): LoadProcess {
  const args = [
    DEVICE_SIM_CLI,
    'load',
    '--hub', options.hubUrl ?? 'http://127.0.0.1:1',
    '--mqtt', options.mqttUrl,
    '--credentials', options.credentialsFile,
    '--devices', String(options.devices),
    '--id-prefix', options.idPrefix,
    '--duration', `${Math.ceil(options.maxDurationMs / 1000)}s`,
    '--qos', String(options.qos),
    '--inflight', String(options.inflight),
    ...(options.rate === undefined ? [] : ['--rate', String(options.rate)]),
    '--json',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  let lastProgress: LoadProgress | undefined;
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
        lastProgress = { line, second: Number(m[1]), sent: Number(m[2]), acked: Number(m[3]), ackedPerSec: Number(m[4]) };
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
