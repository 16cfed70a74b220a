/**
 * A throwaway Redis server (Debian's redis-server) on a free loopback port,
 * with a password and no persistence: the hub keeps nothing durable in
 * Redis, so a restart starting empty is the case to survive.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineProcess } from './engine-process.js';
import { freePort } from './free-port.js';
import { requireBinary } from './missing.js';

export const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? '/usr/bin/redis-server';

export interface Redis {
  /** redis://:<password>@127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** The server's pid; undefined while it is down. */
  readonly pid: number | undefined;
  /** SIGKILL: a crash; everything it held is gone at restart(). */
  kill(): Promise<void>;
  restart(): Promise<void>;
  pause(paused: boolean): void;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<Redis> {
  const bin = requireBinary(REDIS_SERVER, 'redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-redis-'));
  const port = await freePort();
  const password = `pw${Math.random().toString(36).slice(2)}`;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--requirepass', password, '--daemonize', 'no', '--loglevel', 'warning'];
  const proc = new EngineProcess({ name: 'redis-server', file: bin, args, ready: () => pong(port, password) });
  await proc.start();
  let stopped = false;
  return {
    url: `redis://:${password}@127.0.0.1:${port}`,
    port,
    get pid() {
      return proc.pid;
    },
    kill: () => proc.kill(),
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

function pong(port: number, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write(`AUTH ${password}\r\nPING\r\n`));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('+PONG')) done(true);
      else if (reply.includes('-')) done(false);
    });
  });
}
