/**
 * A throwaway PostgreSQL server (Debian's postgresql-15) on a free loopback
 * port: its own cluster in a temp dir, password authentication, one
 * database. As root (CI) initdb and postgres refuse to run, so both run as
 * the `postgres` user on a directory it owns; the server is spawned with
 * that uid directly (not through runuser), so kill() reaches the postmaster
 * itself.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineProcess } from './engine-process.js';
import { freePort } from './free-port.js';
import { requireBinary } from './missing.js';

export const PG_BIN_DIR = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

export interface Postgres {
  /** postgres://hub:<password>@127.0.0.1:<port>/hub */
  readonly url: string;
  readonly port: number;
  /** SIGKILL of the postmaster: a crash (data stays; restart() recovers it). */
  kill(): Promise<void>;
  /** A fast shutdown (SIGINT): clients are disconnected, data is flushed. */
  shutdown(): Promise<void>;
  /** Starts it again on the same port and data. */
  restart(): Promise<void>;
  /** SIGSTOP/SIGCONT of the postmaster. */
  pause(paused: boolean): void;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<Postgres> {
  const postgresBin = requireBinary(join(PG_BIN_DIR, 'postgres'), 'postgresql');
  const initdb = requireBinary(join(PG_BIN_DIR, 'initdb'), 'postgresql');
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-pg-'));
  const data = join(dir, 'data');
  const password = `pw${Math.random().toString(36).slice(2)}`;
  const pwFile = join(dir, 'pw');
  writeFileSync(pwFile, password, { mode: 0o600 });
  const owner = process.getuid?.() === 0 ? postgresUser() : null;
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwFile, owner.uid, owner.gid);
  }
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const init = spawnSync(initdb, ['-D', data, '-U', 'hub', '--auth=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--no-instructions'], {
    ...asOwner,
    encoding: 'utf8',
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    port,
    unix_socket_directories: dir,
    max_connections: 300,
    logging_collector: 'off',
    ...options.settings,
  };
  const args = ['-D', data, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const url = `postgres://hub:${password}@127.0.0.1:${port}/hub`;
  const proc = new EngineProcess({
    name: 'postgres',
    file: postgresBin,
    args,
    spawnOptions: asOwner,
    stopSignal: 'SIGINT',
    ready: () => Promise.resolve(isReady(port)),
  });
  await proc.start();
  const created = spawnSync(join(PG_BIN_DIR, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'hub', '-d', 'postgres', '-qc', 'CREATE DATABASE hub'], {
    env: { ...process.env, PGPASSWORD: password },
    encoding: 'utf8',
  });
  if (created.status !== 0) {
    await proc.kill();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`creating the database failed: ${created.stderr}`);
  }

  let stopped = false;
  return {
    url,
    port,
    kill: () => proc.kill(),
    shutdown: () => proc.stop(),
    restart: () => proc.start(),
    pause: (paused) => proc.pause(paused),
    async stop() {
      if (stopped) return;
      stopped = true;
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function isReady(port: number): boolean {
  const r = spawnSync(join(PG_BIN_DIR, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
  return r.status === 0;
}

function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}
