/**
 * Starts a real influxd (Debian package `influxdb`) for a test: free ports
 * for HTTP and the RPC bind-address, temp meta/data/wal dirs, a generated
 * config with reporting disabled. Waits for GET /ping → 204; stop() and the
 * registered teardown kill it and remove the dirs. kill()/pause() let outage
 * tests take it away and restart() brings it back on the same port and data.
 *
 * With `auth`, the server requires credentials (http auth-enabled) and
 * that user is created as admin at first start; urlFor() then carries them
 * as userinfo, as an operator's --influx-url would, and query()/write() send them.
 *
 * A missing binary skips the test loudly locally and fails it under CI=true
 * (design.md, testing principles).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@iot-hub/engines';

export const INFLUXD = process.env.INFLUXD_PATH ?? '/usr/bin/influxd';

export interface Influxd {
  /** http://127.0.0.1:PORT */
  baseUrl: string;
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
  stop(): Promise<void>;
}

export interface InfluxQueryResponse {
  results: { statement_id?: number; error?: string; series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[];
}

interface TapLike {
  teardown(fn: () => unknown): void;
  /** plan(0, reason) marks the test as skipped with the reason. */
  plan(n: number, comment?: string): void;
  fail(message: string): void;
}

export interface InfluxdOptions {
  /** Require this admin user's credentials on every request. */
  auth?: { username: string; password: string };
}

/** null when the binary is missing: the test was skipped (or failed under CI). */
export async function startInfluxd(t: TapLike, options: InfluxdOptions = {}): Promise<Influxd | null> {
  if (!existsSync(INFLUXD)) {
    const reason = `${INFLUXD} is missing: install the Debian package influxdb to run the InfluxDB tests`;
    if (process.env.CI === 'true') t.fail(reason);
    else {
      console.error(`SKIPPED LOUDLY: ${reason}`);
      t.plan(0, reason);
    }
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-influxd-'));
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

  const launch = async (): Promise<void> => {
    const proc = spawn(INFLUXD, ['-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    proc.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`influxd exited with ${proc.exitCode}: ${output}`);
      try {
        const res = await fetch(`${baseUrl}/ping`);
        if (res.status === 204) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`influxd did not answer /ping within 30 s: ${output}`);
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  t.teardown(stop);
  await launch();
  if (auth) {
    // Allowed without credentials only while the server has no users.
    const q = `CREATE USER "${auth.username}" WITH PASSWORD '${auth.password}' WITH ALL PRIVILEGES`;
    const res = await fetch(`${baseUrl}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
    if (res.status !== 200) throw new Error(`creating the influxd admin failed: ${res.status} ${await res.text()}`);
  }

  return {
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
