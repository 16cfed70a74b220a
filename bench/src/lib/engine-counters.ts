/**
 * What the cluster's engines did, from their own counters: Redis commands
 * executed (INFO commandstats, every command's `calls` summed) and
 * PostgreSQL transactions committed in the hub's database (pg_stat_database
 * xact_commit). Read before and after a window, the differences are the
 * engine work of that window. The reads themselves count (one INFO, one
 * psql transaction each): negligible against thousands of messages.
 *
 * PostgreSQL 15 backends flush their statistics at most once a second, so a
 * window's edges are blurred by about that much on both sides.
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { PG_BIN_DIR } from '@iot-hub/engines';

/** `calls` of every command in INFO commandstats, by command name. */
export function redisCommandCalls(redisUrl: string): Promise<Record<string, number>> {
  const url = new URL(redisUrl);
  const password = decodeURIComponent(url.password);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let reply = '';
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error('redis INFO timed out'));
    });
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`${password ? `AUTH ${password}\r\n` : ''}INFO commandstats\r\n`));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      const bulk = /\$(\d+)\r\n/.exec(reply);
      if (!bulk) {
        if (/^-|\r\n-/.test(reply)) {
          socket.destroy();
          reject(new Error(`redis: ${reply.trim()}`));
        }
        return;
      }
      const start = bulk.index + bulk[0].length;
      if (Buffer.byteLength(reply.slice(start)) < Number(bulk[1])) return;
      socket.destroy();
      const calls: Record<string, number> = {};
      for (const m of reply.slice(start).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1] as string] = Number(m[2]);
      resolve(calls);
    });
  });
}

/** xact_commit of the database the URL names. */
export function pgCommits(pgUrl: string): Promise<number> {
  const url = new URL(pgUrl);
  const db = url.pathname.slice(1);
  return new Promise((resolve, reject) => {
    execFile(
      join(PG_BIN_DIR, 'psql'),
      ['-h', url.hostname, '-p', url.port, '-U', decodeURIComponent(url.username), '-d', db, '-Atqc', `SELECT xact_commit FROM pg_stat_database WHERE datname = '${db}'`],
      { env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) }, timeout: 10_000 },
      (err, stdout) => (err ? reject(err) : resolve(Number(stdout.trim()))),
    );
  });
}
