/**
 * The engine starters themselves: each server comes up, answers with its
 * password, survives kill + restart on the same port, and leaves nothing
 * behind. Real Debian packages; under CI=true a missing one fails.
 */
import { connect } from 'node:net';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { PG_BIN_DIR, engineForTest, startPostgres, startRedis } from '@iot-hub/engines';

function psql(url: string, sql: string): { status: number | null; out: string } {
  const r = spawnSync(join(PG_BIN_DIR, 'psql'), [url, '-tAc', sql], { encoding: 'utf8' });
  return { status: r.status, out: (r.stdout || r.stderr).trim() };
}

t.test('PostgreSQL: password login, data kept across a crash and restart', async (tt) => {
  const pg = await engineForTest(tt, () => startPostgres());
  if (!pg) return;
  tt.equal(psql(pg.url, 'CREATE TABLE t (x int); INSERT INTO t VALUES (42)').status, 0);
  const wrong = pg.url.replace(/:pw[^@]+@/, ':nope@');
  tt.not(psql(wrong, 'SELECT 1').status, 0, 'a wrong password is refused');
  await pg.kill();
  tt.not(psql(pg.url, 'SELECT 1').status, 0, 'down after kill');
  await pg.restart();
  tt.same(psql(pg.url, 'SELECT x FROM t'), { status: 0, out: '42' });
});

t.test('Redis: password required, empty after a crash', async (tt) => {
  const redis = await engineForTest(tt, () => startRedis());
  if (!redis) return;
  const password = decodeURIComponent(new URL(redis.url).password);
  tt.match(await send(redis.port, 'PING\r\n'), /^-NOAUTH/, 'no password, no answer');
  tt.match(await send(redis.port, `AUTH ${password}\r\nSET k v\r\nGET k\r\n`), /\+OK\r\n\+OK\r\n\$1\r\nv/);
  await redis.kill();
  await redis.restart();
  tt.match(await send(redis.port, `AUTH ${password}\r\nGET k\r\n`), /\+OK\r\n\$-1/, 'nothing survives a restart');
});

function send(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let reply = '';
    socket.on('data', (d) => (reply += d.toString()));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(reply);
    }, 300);
  });
}
