/**
 * The hub as a child process (node hub/dist/main.js), so its CPU and memory
 * are measured apart from the load generator. Ports are 0 (free ones); the
 * hub's 'hub listening' log line tells which it got.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** bench/dist/lib/hub-process.js → hub/dist/main.js */
export const HUB_MAIN = fileURLToPath(new URL('../../../hub/dist/main.js', import.meta.url));

export interface HubProcessOptions {
  dataDir: string;
  adminToken: string;
  /** Where the hub's stdout (JSON log lines) and stderr go. */
  logFile: string;
  logLevel?: string;
  /** More hub flags, e.g. ['--store', 'influx', ...]. */
  extraArgs?: readonly string[];
  /** Node flags for the hub process, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  nodeArgs?: readonly string[];
  startTimeoutMs?: number;
  /** Added to this process's environment (cluster nodes get HUB_PG_URL and HUB_REDIS_URL there). */
  env?: Record<string, string>;
}

export interface HubLogCounts {
  warn: number;
  error: number;
  /** The first few warn/error messages, for the report. */
  samples: string[];
}

export interface HubProcess {
  pid: number;
  httpUrl: string;
  mqttUrl: string;
  logs: HubLogCounts;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with how it ended. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }>;
}

export async function startHubProcess(options: HubProcessOptions): Promise<HubProcess> {
  if (!existsSync(HUB_MAIN)) throw new Error(`${HUB_MAIN} is missing: build the hub first (npm run build)`);
  const args = [
    // As `npm start` runs it (package.json): a 64 MB semi-space.
    '--max-semi-space-size=64',
    ...(options.nodeArgs ?? []),
    HUB_MAIN,
    '--http-port', '0',
    '--mqtt-port', '0',
    '--data-dir', options.dataDir,
    '--admin-token', options.adminToken,
    '--log-level', options.logLevel ?? 'info',
    // Every bench device connects from 127.0.0.1, so the per-address
    // admission limit (a defence against one host opening connections in a
    // loop) would refuse a fleet that is simply large. Extra args may set it.
    // The same holds for the per-address caps on connections still
    // authenticating (a fleet opens hundreds at once) and on HTTP connections.
    '--ip-connect-rate', '0',
    '--max-unauthenticated-per-ip', '1000000',
    '--max-http-connections-per-ip', '0',
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(options.env ? { env: { ...process.env, ...options.env } } : {}) });
  const log = createWriteStream(options.logFile);
  const logs: HubLogCounts = { warn: 0, error: 0, samples: [] };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  const listening = new Promise<{ httpPort: number; mqttPort: number; host: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the hub did not log 'hub listening' within ${options.startTimeoutMs ?? 30_000} ms (see ${options.logFile})`)), options.startTimeoutMs ?? 30_000);
    child.once('error', reject);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the hub exited before listening (code ${code}, signal ${signal}; see ${options.logFile})`));
    });
    // Below log level info there is no 'hub listening' line: main.ts also prints the URLs on stderr.
    createInterface({ input: child.stderr }).on('line', (line) => {
      log.write(`${line}\n`);
      const urls = /Dashboard: http:\/\/([^:/]+):(\d+)\/\s+MQTT: mqtt:\/\/[^:/]+:(\d+)/.exec(line);
      if (urls) {
        clearTimeout(timer);
        resolve({ host: urls[1] as string, httpPort: Number(urls[2]), mqttPort: Number(urls[3]) });
      }
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      log.write(`${line}\n`);
      // Only warn (40) and above are parsed: the bench shares the CPU with the hub.
      if (/"level":[456]0/.test(line)) countProblem(line, logs);
      if (line.includes('"hub listening"')) {
        const entry = JSON.parse(line) as { httpPort: number; mqttPort: number; host: string };
        clearTimeout(timer);
        resolve(entry);
      }
    });
  });

  let ports;
  try {
    ports = await listening;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const host = ports.host === '0.0.0.0' || ports.host === '::' ? '127.0.0.1' : ports.host;
  return {
    pid: child.pid as number,
    httpUrl: `http://${host}:${ports.httpPort}`,
    mqttUrl: `mqtt://${host}:${ports.mqttPort}`,
    logs,
    stop: (timeoutMs = 15_000) => stopChild(child, exited, timeoutMs).finally(() => log.end()),
  };
}

function countProblem(line: string, logs: HubLogCounts): void {
  try {
    const entry = JSON.parse(line) as { level: number; msg?: string; err?: { message?: string } };
    if (entry.level >= 50) logs.error++;
    else logs.warn++;
    if (logs.samples.length < 10) logs.samples.push(`${entry.level >= 50 ? 'error' : 'warn'}: ${entry.msg ?? ''}${entry.err?.message ? ` (${entry.err.message})` : ''}`);
  } catch {
    logs.warn++;
  }
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode, killed: false };
  child.kill('SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const result = await exited;
  clearTimeout(timer);
  return { ...result, killed };
}
