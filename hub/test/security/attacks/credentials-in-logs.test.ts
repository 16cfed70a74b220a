/**
 * No credential reaches the log, and out-of-range history times are the
 * caller's mistake (400), not a store error (500) or a silently empty answer.
 * The InfluxDB part runs a real influxd with authentication on; the hub
 * logs through the real logger into a buffer the test reads.
 */
import t, { type Test } from 'tap';
import { createLogger } from '@iot-hub/hub';
import { startInfluxd } from '../../helpers/influxd.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';

const BAD_TIMES: [query: string, message: RegExp][] = [
  ['from=-99999999999999999999&to=2300-01-01', /^bad request: from must be between 1970-01-01T00:00:00.000Z and 2200-01-01T00:00:00.000Z \(epoch ms 0\.\.7258118400000\), got "-99999999999999999999"$/],
  ['to=2300-01-01', /^bad request: to must be between .*, got "2300-01-01"$/],
  ['to=100000000000000000', /^bad request: to must be between .*, got "100000000000000000"$/],
  ['to=1e17', /^bad request: to must be epoch milliseconds or an ISO 8601 date, got "1e17"$/],
  ['from=-1', /^bad request: from must be between .*, got "-1"$/],
  ['from=2020-13-45', /^bad request: from must be epoch milliseconds or an ISO 8601 date, got "2020-13-45"$/],
  [`from=${'9'.repeat(5000)}`, /^bad request: from must be epoch milliseconds or an ISO 8601 date, got "9{40}…"$/],
];

async function expectBadTimes(t: Test, hub: TestHub, id: string): Promise<void> {
  for (const [query, message] of BAD_TIMES) {
    const res = await hub.api('GET', `/api/devices/${id}/telemetry?${query}`);
    t.equal(res.status, 400, `${query.slice(0, 60)}: 400`);
    t.match(res.body, { error: 'bad_request', code: 400, message }, `${query.slice(0, 60)}: says which time and the range`);
  }
  const audit = await hub.api('GET', '/api/audit?to=100000000000000000');
  t.equal(audit.status, 400, 'the audit log checks its times the same way');
}


function capture(): { lines: string[]; stream: { write(s: string): void } } {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => void lines.push(s) } };
}

t.test('history times out of range are 400 with the reason (SQLite)', async (t) => {
  const hub = await startTestHub(t);
  await hub.provision('meter-1');
  await expectBadTimes(t, hub, 'meter-1');
  t.equal((await hub.api('GET', '/api/devices/meter-1/telemetry?from=0&to=7258118400000')).status, 200, 'the whole range is fine');
});

t.test('the logger redacts credentials wherever they sit', async (t) => {
  const { lines, stream } = capture();
  const log = createLogger('info', stream);
  const err = Object.assign(new Error('A 401 Unauthorized error occurred'), {
    req: { _header: 'POST /query HTTP/1.1\r\nAuthorization: Basic dXNlcjpodW50ZXIy\r\n', headers: { authorization: 'Basic dXNlcjpodW50ZXIy' } },
    options: { username: 'user', password: 'hunter2' },
  });
  log.error({ err, url: 'http://user:hunter2@influx:8086/db' }, 'InfluxDB failed');
  log.warn({ headers: { authorization: 'Bearer tok_hunter2', cookie: 'hub_session=hunter2' }, body: { password: 'hunter2' } }, 'request');
  log.info({ err: new Error('connect to http://user:hunter2@influx:8086/query?u=user&p=hunter2 failed') }, 'plain error');
  const text = lines.join('');
  t.notMatch(text, /hunter2|dXNlcjpodW50ZXIy/, 'no password, token, cookie or its base64 anywhere');
  t.match(text, /"url":"http:\/\/\*\*\*@influx:8086\/db"/, 'a URL keeps everything but its userinfo');
  t.match(text, /A 401 Unauthorized error occurred/, 'the error message stays');
});

t.test('InfluxDB with authentication: bad times are 400, and a failing query logs no credentials', async (t) => {
  const auth = { username: 'hubwriter', password: 'Influx-s3cret-pw' };
  const influxd = await startInfluxd(t, { auth });
  if (!influxd) return;
  const secrets = [auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString('base64'), 'wrong-pw-Z9', Buffer.from(`${auth.username}:wrong-pw-Z9`).toString('base64')];

  const good = capture();
  const hub = await startTestHub(t, { store: 'influx', influxUrl: influxd.urlFor('hub_creds'), logLevel: 'debug' }, undefined, { log: createLogger('debug', good.stream) });
  await hub.provision('meter-1');
  await expectBadTimes(t, hub, 'meter-1');
  t.equal((await hub.api('GET', '/api/devices/meter-1/telemetry?from=0')).status, 200, 'a good range is answered by InfluxDB');

  // Wrong credentials: every InfluxDB query fails with 401, and the hub logs the failure.
  const bad = capture();
  const wrongUrl = influxd.urlFor('hub_creds').replace(encodeURIComponent(auth.password), 'wrong-pw-Z9');
  const broken = await startTestHub(t, { store: 'influx', influxUrl: wrongUrl, logLevel: 'debug' }, undefined, { log: createLogger('debug', bad.stream) });
  await broken.provision('meter-2');
  const failed = await broken.api('GET', '/api/devices/meter-2/telemetry');
  t.same(failed, { status: 500, body: { error: 'internal_error', code: 500, message: 'internal error' } });
  const logged = bad.lines.join('');
  t.match(logged, /API request failed/, 'the failure was logged');
  t.match(logged, /401 Unauthorized/, 'with what went wrong');
  for (const [name, text] of [['hub', good.lines.join('')], ['broken hub', logged]] as const) {
    for (const secret of secrets) t.notOk(text.includes(secret), `${name}: the log holds no ${secret.length > 20 ? 'base64 credentials' : 'password'}`);
  }
});
