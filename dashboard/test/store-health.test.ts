/**
 * The store status the dashboard shows from GET /healthz: the banner text
 * for each state of the InfluxDB store and its local buffer, and the poller
 * that fetches /healthz periodically and stops cleanly.
 */
import t from 'tap';
import type { HealthResponse } from '@iot-hub/protocol';
import { getHealth } from '../src/data/api.js';
import { HealthPoller, type HealthState } from '../src/data/health-poller.js';
import { formatBytes, storeBanner } from '../src/format.js';

const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);
const MB = 1024 * 1024;

function health(store: HealthResponse['store'], status: HealthResponse['status'] = store.ok ? 'ok' : 'degraded'): HealthResponse {
  return { status, uptimeSec: 60, version: '0.1.0', store, devices: { total: 3, online: 2 }, connections: { mqtt: 2, ws: 0, dashboards: 1 } };
}

t.test('bytes read in binary units', async (t) => {
  t.equal(formatBytes(512, 'en-US'), '512 B');
  t.equal(formatBytes(3.4 * 1024, 'en-US'), '3.4 KB');
  t.equal(formatBytes(45 * MB, 'en-US'), '45 MB');
  t.equal(formatBytes(1024 * MB, 'en-US'), '1 GB');
});

t.test('no banner while the hub reports ok', async (t) => {
  t.equal(storeBanner(health({ kind: 'sqlite', ok: true }), NOW), null);
  t.equal(storeBanner(health({ kind: 'influx', ok: true, buffer: { points: 10, bytes: MB, quotaBytes: 1024 * MB, oldestAgeSec: 0, full: false }, deadLettered: 0 }), NOW), null);
});

t.test('InfluxDB unreachable: the buffer fill and what it means', async (t) => {
  const banner = storeBanner(
    health({ kind: 'influx', ok: false, error: 'connect ECONNREFUSED 127.0.0.1:8086', buffer: { points: 12345, bytes: 256 * MB, quotaBytes: 1024 * MB, oldestAgeSec: 180, full: false }, deadLettered: 0 }),
    NOW,
    'en-US',
  );
  t.ok(banner);
  t.equal(banner?.severity, 'warning');
  t.equal(banner?.title, 'InfluxDB is unreachable: telemetry is buffered on the hub');
  t.equal(banner?.bufferFill, 0.25);
  t.same(banner?.details, [
    'Last error: connect ECONNREFUSED 127.0.0.1:8086.',
    "12,345 readings wait in the hub's local buffer (256 MB, 25 % of its 1 GB quota, oldest from 3 min ago).",
    'Buffered readings are safe on disk and are sent in order once InfluxDB is back; charts miss them until then. When the buffer is full the hub stops acknowledging telemetry.',
  ]);
});

t.test('buffer nearly full while the store answers', async (t) => {
  const banner = storeBanner(health({ kind: 'influx', ok: false, buffer: { points: 900, bytes: 85 * MB, quotaBytes: 100 * MB, oldestAgeSec: null, full: false }, deadLettered: 0 }), NOW, 'en-US');
  t.equal(banner?.title, 'Telemetry buffer 85 % full');
  t.equal(banner?.severity, 'warning');
  t.match(banner?.details[0], /^900 readings wait in the hub's local buffer \(85 MB, 85 % of its 100 MB quota\)\.$/);
});

t.test('buffer full: devices are refused, shown as an error', async (t) => {
  const banner = storeBanner(
    health({ kind: 'influx', ok: false, error: 'timeout', buffer: { points: 5e6, bytes: 100 * MB, quotaBytes: 100 * MB, oldestAgeSec: 7200, full: true }, deadLettered: 3 }),
    NOW,
    'en-US',
  );
  t.equal(banner?.severity, 'error');
  t.equal(banner?.bufferFill, 1);
  t.equal(banner?.title, 'Telemetry buffer full: devices are not acknowledged until InfluxDB catches up');
  t.match(banner?.details.join(' '), /100 % of its 100 MB quota, oldest from 2 h ago/);
  t.match(banner?.details.join(' '), /refuses new telemetry \(not acknowledged\) and devices keep and resend it/);
  t.match(banner?.details.at(-1), /^3 readings were refused by InfluxDB for good/);
});

t.test('getHealth calls GET /healthz on the hub', async (t) => {
  const calls: string[] = [];
  const body = health({ kind: 'influx', ok: true });
  const fakeFetch = (async (url: string | URL | Request) => {
    calls.push(String(url));
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  t.same(await getHealth({ token: 'x', baseUrl: 'http://hub:8080', fetch: fakeFetch }), body);
  t.same(calls, ['http://hub:8080/healthz']);
});

t.test('getHealth takes the 503 the hub answers while degraded as an answer', async (t) => {
  const body = health({ kind: 'influx', ok: false, error: 'down' });
  const degraded = (async () => new Response(JSON.stringify(body), { status: 503 })) as typeof fetch;
  t.same(await getHealth({ token: 'x', fetch: degraded }), body);
  const broken = (async () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })) as typeof fetch;
  await t.rejects(getHealth({ token: 'x', fetch: broken }), { name: 'ApiError', status: 502, code: 'http_502' });
});

t.test('the poller fetches periodically, keeps the last answer on failure, and stops', async (t) => {
  const answers: Array<HealthResponse | Error> = [
    health({ kind: 'influx', ok: true }),
    new Error('fetch failed'),
    health({ kind: 'influx', ok: false, error: 'down' }),
  ];
  let calls = 0;
  const states: HealthState[] = [];
  let third: () => void = () => {};
  const sawThird = new Promise<void>((resolve) => (third = resolve));
  const poller = new HealthPoller({
    intervalMs: 5,
    now: () => NOW,
    fetchHealth: async () => {
      const answer = answers[Math.min(calls++, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    onChange: (state) => {
      states.push(state);
      if (states.length === 3) third();
    },
  });
  t.teardown(() => poller.stop());
  poller.start();
  await sawThird;
  poller.stop();
  const callsAtStop = calls;
  t.equal(states[0]?.health?.status, 'ok');
  t.same(states[1], { health: states[0]?.health, error: 'fetch failed', checkedAt: NOW }, 'a failed poll keeps the last answer and says why');
  t.match(states[2], { health: { status: 'degraded' }, error: null });
  await new Promise((r) => setTimeout(r, 30));
  t.equal(calls, callsAtStop, 'no poll after stop()');
});

t.test('stop() aborts the request in flight and publishes nothing more', async (t) => {
  let aborted = false;
  const changes: HealthState[] = [];
  const poller = new HealthPoller({
    fetchHealth: (signal) =>
      new Promise<HealthResponse>((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(new Error('aborted'));
        });
      }),
    onChange: (state) => changes.push(state),
  });
  poller.start();
  poller.stop();
  await new Promise((r) => setTimeout(r, 10));
  t.ok(aborted);
  t.same(changes, []);
});
