/**
 * A throwaway influxd (Debian package `influxdb`) for a benchmark: free ports
 * for HTTP and the RPC bind-address, temp meta/data/wal dirs, a generated
 * config with reporting and request logging off. The same logic as the
 * tests' helper (hub/test/helpers/influxd.ts), without tap: bench/ does not
 * import test code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { freePort } from './free-port.js';
import { join } from 'node:path';

export const INFLUXD = process.env.INFLUXD_PATH ?? '/usr/bin/influxd';

export interface InfluxQueryResponse {
  results: { statement_id?: number; error?: string; series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[];
}

export interface BenchInfluxd {
  pid: number;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  query(q: string, database?: string): Promise<InfluxQueryResponse>;
  stop(): Promise<void>;
}

/** Starts influxd with its dirs under `dir`; resolves once GET /ping answers 204. */
export async function startInfluxd(dir: string): Promise<BenchInfluxd> {
  if (!existsSync(INFLUXD)) throw new Error(`${INFLUXD} is missing: install the Debian package influxdb (apt-get install -y influxdb)`);
  mkdirSync(dir, { recursive: true });
  const [httpPort, rpcPort] = await Promise.all([freePort(), freePort()]);
  const config = join(dir, 'influxdb.conf');
  writeFileSync(
    config,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${join(dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(dir, 'data')}"`,
      `  wal-dir = "${join(dir, 'wal')}"`,
      '  query-log-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${httpPort}"`,
      '  log-enabled = false',
      '[continuous_queries]',
      '  log-enabled = false',
      '',
    ].join('\n'),
  );
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  let output = '';
  const child: ChildProcess = spawn(INFLUXD, ['-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`influxd exited with ${child.exitCode}: ${output}`);
    try {
      if ((await fetch(`${baseUrl}/ping`)).status === 204) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`influxd did not answer /ping within 30 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: child.pid as number,
    baseUrl,
    stop,
    async query(q, database) {
      const body = new URLSearchParams({ q, epoch: 'ms', ...(database ? { db: database } : {}) });
      const res = await fetch(`${baseUrl}/query`, { method: 'POST', body });
      return (await res.json()) as InfluxQueryResponse;
    },
  };
}

