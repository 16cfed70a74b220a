/** Login sessions: the cookie, wrong passwords, the per-IP limit, logout and expiry. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { pino } from 'pino';
import { Accounts } from '../../src/auth/accounts.js';
import { SqliteAccountStore } from '../../src/auth/sqlite-account-store.js';
import { addUser, call, login } from '../helpers/accounts.js';
import { startTestHub } from '../helpers/hub.js';

t.test('login sets an HttpOnly SameSite=Strict cookie; me and logout', async (t) => {
  const hub = await startTestHub(t);
  await addUser(hub, 'vera', 'viewer');
  const res = await call(hub, 'POST', '/api/auth/login', { username: 'vera', password: 'vera-password' }, { origin: hub.httpUrl });
  t.equal(res.status, 200);
  t.match(res.body, { user: 'vera', role: 'viewer', via: 'session', expiresAt: Number });
  const cookie = res.headers.get('set-cookie') ?? '';
  t.match(cookie, /^hub_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=604800$/, 'no Secure without TLS');
  t.equal(res.headers.get('cache-control'), 'no-store');

  const vera = await login(hub, 'vera');
  t.match((await vera.api('GET', '/api/auth/me')).body, { user: 'vera', role: 'viewer', via: 'session', expiresAt: Number });
  const out = await vera.api('POST', '/api/auth/logout');
  t.equal(out.status, 204);
  t.match(out.headers.get('set-cookie'), /^hub_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/, 'the browser forgets it');
  const after = await vera.api('GET', '/api/devices');
  t.equal(after.status, 401, 'the session is gone on the hub too');
  t.match(after.body, { error: 'unauthorized', message: /session has expired/ });
});

t.test('a wrong password or unknown user is 401 alike; past --login-rate a minute, 429; counted in /metrics', async (t) => {
  const hub = await startTestHub(t, { loginRate: 3 });
  await addUser(hub, 'vera', 'viewer');
  const attempt = (username: string, password: string) => call(hub, 'POST', '/api/auth/login', { username, password }, {});
  const wrong = await attempt('vera', 'not-her-password');
  t.same([wrong.status, wrong.body], [401, { error: 'unauthorized', code: 401, message: 'wrong username or password' }]);
  t.equal(wrong.headers.get('set-cookie'), null, 'no cookie');
  const unknown = await attempt('nobody', 'whatever-password');
  t.same([unknown.status, unknown.body], [wrong.status, wrong.body], 'unknown user reads the same');
  t.equal((await attempt('vera', 'vera-password')).status, 200, 'third attempt: right password');
  const limited = await attempt('vera', 'vera-password');
  t.equal(limited.status, 429, 'fourth within the minute: limited, even with the right password');
  t.match(limited.body, { error: 'rate_limited', code: 429 });
  t.equal(limited.headers.get('retry-after'), '20');

  const metrics = (await hub.api('GET', '/metrics')).body as string;
  t.match(metrics, /iot_hub_login_attempts_total\{outcome="ok"\} 1/);
  t.match(metrics, /iot_hub_login_attempts_total\{outcome="failed"\} 2/);
  t.match(metrics, /iot_hub_login_attempts_total\{outcome="rate_limited"\} 1/);
});

t.test('sessions end after the idle time or the absolute lifetime, whichever first', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-accounts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const minute = 60_000;
  const accounts = new Accounts({
    store: new SqliteAccountStore(join(dir, 'users.db')),
    adminAuth: { verify: () => false, generatedToken: null },
    sessionIdleMs: 10 * minute,
    sessionMaxMs: 25 * minute,
    log: pino({ level: 'silent' }),
  });
  await accounts.open();
  t.teardown(() => accounts.close());
  await accounts.addUser('vera', 'viewer', 'vera-password');
  const t0 = 1_000_000_000_000;

  const idle = await accounts.login('vera', 'vera-password', t0);
  t.equal(idle?.expiresAt, t0 + 10 * minute);
  t.ok(await accounts.session(idle!.sessionId, t0 + 10 * minute - 1), 'alive just before the idle time');
  const idle2 = await accounts.login('vera', 'vera-password', t0);
  t.equal(await accounts.session(idle2!.sessionId, t0 + 10 * minute), null, 'idle for the idle time: ended');
  t.equal(await accounts.session(idle2!.sessionId, t0), null, 'and deleted');

  const busy = await accounts.login('vera', 'vera-password', t0);
  for (let m = 5; m < 25; m += 5) t.ok(await accounts.session(busy!.sessionId, t0 + m * minute), `used at ${m} min`);
  t.equal((await accounts.session(busy!.sessionId, t0 + 25 * minute))?.principal ?? null, null, 'ended at the absolute lifetime though used');
  t.equal(await accounts.login('vera', 'wrong-password', t0), null);
});
