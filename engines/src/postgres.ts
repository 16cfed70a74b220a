/**
 * A throwaway PostgreSQL server (Debian's postgresql-15) on a free loopback
 * port: its own cluster in a temp dir, password authentication, one
 * database. As root (CI) initdb and postgres refuse to run, so both run as
 * the `postgres` user on a directory it owns; the server is spawned with
 * that uid directly (not through runuser), so kill() reaches the postmaster
 * itself.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
  /** The postmaster's pid (its backends are its children); undefined while it is down. */
  readonly pid: number | undefined;
  /** SIGKILL of the postmaster: a crash (data stays; restart() recovers it). */
  kill(): Promise<void>;
  /** A fast shutdown (SIGINT): clients are disconnected, data is flushed. */
  shutdown(): Promise<void>;
  /** Starts it again on the same port and data. */
  restart(): Promise<void>;
  /**
   * SIGSTOP/SIGCONT of the postmaster and every backend: a hung server.
   * Stopping the postmaster alone would leave open connections answering.
   */
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
    get pid() {
      return proc.pid;
    },
    kill: () => proc.kill(),
    shutdown: () => proc.stop(),
    restart: () => proc.start(),
    pause(paused) {
      const children = proc.pid === undefined ? [] : childrenOf(proc.pid);
      // Stopped first and resumed last, the postmaster forks no backend that would escape the pause.
      if (paused) proc.pause(true);
      for (const pid of children) signalQuietly(pid, paused ? 'SIGSTOP' : 'SIGCONT');
      if (!paused) proc.pause(false);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The pids whose parent is `pid` (the postmaster's backends and helpers), from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // it ended meanwhile
    }
    // The command name in parentheses may hold spaces: the fields after its closing one are fixed.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) children.push(Number(name));
  }
  return children;
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // it ended meanwhile
  }
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
