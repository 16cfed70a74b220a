/**
 * A throwaway influxd (Debian's influxdb, 1.x) on free loopback ports: temp
 * meta/data/wal dirs, a generated config with reporting and request logging
 * off. Resolves once GET /ping answers 204. kill() is a crash (data stays),
 * restart() brings it back on the same ports and data, stop() kills it and
 * removes the dirs.
 *
 * With `auth`, the server requires credentials (http auth-enabled) and that
 * user is created as admin at first start; urlFor() then carries them as
 * userinfo, as an operator's --influx-url would, and query()/write() send them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { requireBinary } from './missing.js';

export const INFLUXD = process.env.INFLUXD_PATH ?? '/usr/bin/influxd';

export interface InfluxQueryResponse {
  results: { statement_id?: number; error?: string; series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[];
}

export interface Influxd {
  /** The running server's pid; undefined while killed. */
  readonly pid: number | undefined;
  /** http://127.0.0.1:PORT */
  readonly baseUrl: string;
  /** Hub-style URL naming a database: http://[user:pass@]127.0.0.1:PORT/db */
  urlFor(database: string): string;
  /** SIGKILL: a crash of the server (data stays on disk). */
  kill(): Promise<void>;
  /** Starts it again on the same ports and dirs. */
  restart(): Promise<void>;
  /** Posts an InfluxQL query; returns the parsed JSON. */
  query(q: string, database?: string): Promise<InfluxQueryResponse>;
  /** Posts line protocol (ms precision); returns the HTTP status and body. */
  write(database: string, lines: string, rp?: string): Promise<{ status: number; body: string }>;
  /** Kills it and removes its dirs. */
  stop(): Promise<void>;
}

export interface InfluxdOptions {
  /** Require this admin user's credentials on every request. */
  auth?: { username: string; password: string };
  /** Where its dirs go (removed by stop()); a new temp dir by default. */
  dir?: string;
}

export async function startInfluxd(options: InfluxdOptions = {}): Promise<Influxd> {
  const bin = requireBinary(INFLUXD, 'influxdb');
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'iot-hub-influxd-'));
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
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
      `  auth-enabled = ${options.auth ? 'true' : 'false'}`,
      '[continuous_queries]',
      '  log-enabled = false',
      '',
    ].join('\n'),
  );
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const { auth } = options;
  const authHeaders: Record<string, string> = auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
  let child: ChildProcess | null = null;
  let output = '';

  const kill = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };
  const launch = async (): Promise<void> => {
    const proc = spawn(bin, ['-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    proc.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`influxd exited with ${proc.exitCode}: ${output}`);
      try {
        if ((await fetch(`${baseUrl}/ping`)).status === 204) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`influxd did not answer /ping within 30 s: ${output}`);
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await launch();
    if (auth) {
      // Allowed without credentials only while the server has no users.
      const q = `CREATE USER "${auth.username}" WITH PASSWORD '${auth.password}' WITH ALL PRIVILEGES`;
      const res = await fetch(`${baseUrl}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
      if (res.status !== 200) throw new Error(`creating the influxd admin failed: ${res.status} ${await res.text()}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    get pid() {
      return child?.pid;
    },
    baseUrl,
    urlFor: (database) =>
      auth ? `http://${encodeURIComponent(auth.username)}:${encodeURIComponent(auth.password)}@127.0.0.1:${httpPort}/${database}` : `${baseUrl}/${database}`,
    kill,
    restart: launch,
    stop,
    async query(q, database) {
      const body = new URLSearchParams({ q, epoch: 'ms', ...(database ? { db: database } : {}) });
      const res = await fetch(`${baseUrl}/query`, { method: 'POST', body, headers: authHeaders });
      return (await res.json()) as InfluxQueryResponse;
    },
    async write(database, lines, rp) {
      const params = new URLSearchParams({ db: database, precision: 'ms', ...(rp ? { rp } : {}) });
      const res = await fetch(`${baseUrl}/write?${params.toString()}`, { method: 'POST', body: lines, headers: authHeaders });
      return { status: res.status, body: await res.text() };
    },
  };
}
