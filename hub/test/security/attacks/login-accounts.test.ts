/**
 * Password guessing at one account from many addresses: the per-address
 * limit holds each address to --login-rate, and the per-account lock holds
 * the name, wherever the guesses come from. The lock grows per failure up
 * to --login-lockout-max-sec, ends by itself, never holds an address the
 * user signed in from before, and treats unknown names alike.
 * Requests leave from 127.0.0.2 … (loopback aliases) via localAddress.
 */
import { request } from 'node:http';
import t from 'tap';
import { addUser } from '../../helpers/accounts.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

interface Answer {
  status: number;
  body: Record<string, unknown>;
  retryAfter: string | undefined;
}

function loginFrom(hub: TestHub, localAddress: string, username: string, password: string): Promise<Answer> {
  const payload = JSON.stringify({ username, password });
  return new Promise((resolve, reject) => {
    const req = request(
      `${hub.httpUrl}/api/auth/login`,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown>, retryAfter: res.headers['retry-after'] }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const address = (i: number): string => `127.0.0.${i + 2}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metric(hub: TestHub, line: string): Promise<number> {
  const text = (await hub.api('GET', '/metrics')).body as string;
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

t.test('20 addresses guessing at one account get a handful of checked tries, not 60', async (t) => {
  const hub = await startTestHub(t, { loginRate: 10, loginAccountFailures: 3, loginLockoutMaxSec: 60 });
  await addUser(hub, 'vera', 'viewer');
  t.equal((await loginFrom(hub, '127.0.0.1', 'vera', 'vera-password')).status, 200, 'vera signs in from her usual address');

  const answers: Answer[] = [];
  // Three rounds over 20 addresses: 60 guesses, each address within its own limit.
  for (let round = 0; round < 3; round += 1) {
    for (let i = 0; i < 20; i += 1) answers.push(await loginFrom(hub, address(i), 'vera', `guess-${round}-${i}`));
  }
  const checked = answers.filter((a) => a.status === 401).length;
  const locked = answers.filter((a) => a.status === 429);
  t.same(answers.slice(0, 4).map((a) => a.status), [401, 401, 401, 401], 'three free failures, the fourth locks');
  t.equal(answers[4]?.status, 429, 'the next guess, from a fresh address, is refused at once');
  t.ok(checked <= 10, `${checked} of 60 guesses were checked`);
  t.equal(checked + locked.length, 60);
  const first = locked[0];
  t.same(first?.body, { error: 'rate_limited', code: 429, message: `too many failed logins to this account: try again in ${first?.retryAfter} s` });
  t.ok(locked.every((a) => Number(a.retryAfter) >= 1 && Number(a.retryAfter) <= 60), 'every refusal says when to retry, within the cap');

  t.equal((await loginFrom(hub, address(30), 'vera', 'vera-password')).status, 429, 'the right password from a new address waits too');
  t.equal((await loginFrom(hub, '127.0.0.1', 'vera', 'vera-password')).status, 200, 'but her usual address is not held by the lock');

  t.equal(await metric(hub, 'iot_hub_login_attempts_total{outcome="account_locked"}'), locked.length + 1);
  t.ok((await metric(hub, 'iot_hub_login_account_locks_total')) >= 1);
  t.equal(await metric(hub, 'iot_hub_login_locked_accounts'), 0, 'her sign-in cleared the lock');
});

t.test('the lock is capped, ends by itself, and unknown names are locked alike', async (t) => {
  const hub = await startTestHub(t, { loginRate: 100, loginAccountFailures: 1, loginLockoutMaxSec: 1 });
  await addUser(hub, 'otto', 'operator');
  for (const name of ['otto', 'nobody']) {
    t.equal((await loginFrom(hub, address(0), name, 'wrong-1')).status, 401, `${name}: first failure is free`);
    t.equal((await loginFrom(hub, address(1), name, 'wrong-2')).status, 401, `${name}: the second locks`);
    const refused = await loginFrom(hub, address(2), name, 'wrong-3');
    t.same([refused.status, refused.retryAfter], [429, '1'], `${name}: locked, 1 s`);
  }
  // The total, not the gauge: a 1 s lock may already have ended on a loaded machine.
  t.equal(await metric(hub, 'iot_hub_login_account_locks_total'), 2, 'both names were locked once');
  // Many failures in a row: each lock is still at most the cap.
  for (let i = 0; i < 6; i += 1) {
    await sleep(1050);
    t.equal((await loginFrom(hub, address(3 + i), 'otto', `wrong-${i}`)).status, 401, `failure ${i + 3} checked once the lock ended`);
    const held = await loginFrom(hub, address(3 + i), 'otto', 'otto-password');
    t.same([held.status, held.retryAfter], [429, '1'], 'locked again, never longer than --login-lockout-max-sec');
  }
  await sleep(1050);
  t.equal((await loginFrom(hub, address(20), 'otto', 'otto-password')).status, 200, 'once the lock ends, the right password works from anywhere');
  t.equal((await loginFrom(hub, address(21), 'otto', 'wrong-again')).status, 401, 'and the count started over: one free failure');
});
