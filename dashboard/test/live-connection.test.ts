/** LiveConnection: connecting, subscribing, events, requests, stop and interest changes, against a fake hub. */
import t from 'tap';
import { DASHBOARD_SUBPROTOCOL, type DashboardEvent, type DeviceView } from '@iot-hub/protocol';
import { backoffDelay } from '../src/data/backoff.js';
import { dashboardSocketUrl, LiveRequestError, sameInterest } from '../src/data/live-connection.js';
import { DeviceStore } from '../src/data/device-store.js';
import { ALL_EVENTS, T0, TOKEN, activeTimers, connect, device, fakeHub, feedStore, sleep, until, watch } from './helpers/fake-hub.js';

t.test('backoffDelay: exponential, jittered, between min and max', async (t) => {
  const opts = { minDelayMs: 500, maxDelayMs: 15_000 };
  t.equal(backoffDelay(0, () => 0, opts), 500);
  t.equal(backoffDelay(0, () => 1, opts), 500);
  t.equal(backoffDelay(1, () => 0, opts), 500);
  t.equal(backoffDelay(1, () => 1, opts), 1000);
  t.equal(backoffDelay(4, () => 0, opts), 4000);
  t.equal(backoffDelay(4, () => 1, opts), 8000);
  t.equal(backoffDelay(5, () => 1, opts), 15_000, 'capped at max');
  t.equal(backoffDelay(5, () => 0, opts), 7500, 'jitter keeps the upper half at the cap');
  t.equal(backoffDelay(1000, () => 0.5, opts), 11_250, 'huge attempt numbers do not overflow');
  for (let attempt = 0; attempt < 40; attempt++) {
    for (const r of [0, 0.25, 0.5, 0.999]) {
      const delay = backoffDelay(attempt, () => r, opts);
      if (delay < 500 || delay > 15_000) t.fail(`attempt ${attempt} r ${r}: ${delay}`);
    }
  }
});

t.test('dashboardSocketUrl follows the page protocol', async (t) => {
  t.equal(dashboardSocketUrl({ protocol: 'http:', host: 'localhost:8080' }), 'ws://localhost:8080/ws/dashboard');
  t.equal(dashboardSocketUrl({ protocol: 'https:', host: 'hub.example' }), 'wss://hub.example/ws/dashboard');
});

t.test('connects with the subprotocols, subscribes to everything, goes live and forwards events', async (t) => {
  const hub = await fakeHub(t);
  const connection = connect(t, hub.url);
  const status = watch(connection);
  const snapshots: DeviceView[][] = [];
  const events: DashboardEvent[] = [];
  connection.on('snapshot', ({ devices }) => snapshots.push(devices));
  connection.on('event', (event) => events.push(event));

  const live = status.next('live');
  connection.start();
  t.equal(connection.state.status, 'connecting');
  await live;
  t.strictSame(status.statuses(), ['connecting', 'live']);

  const [conn] = hub.conns;
  t.strictSame(conn!.req.headers['sec-websocket-protocol']?.split(/,\s*/), [DASHBOARD_SUBPROTOCOL, `bearer.${TOKEN}`]);
  t.equal(conn!.ws.protocol, DASHBOARD_SUBPROTOCOL, 'the hub picked the dashboard subprotocol');
  t.strictSame(conn!.requests, [{ id: 1, op: 'subscribe', devices: '*', events: ALL_EVENTS }]);
  t.strictSame(snapshots, [[device('a')]]);

  const telemetry: DashboardEvent = { event: 'telemetry', deviceId: 'a', ts: T0 + 5, metrics: { temperature: 21.5 } };
  hub.push(conn!, telemetry);
  await until(() => events.length === 1);
  t.strictSame(events, [telemetry]);
});

t.test('feeds a device store: snapshot then events', async (t) => {
  const hub = await fakeHub(t);
  const connection = connect(t, hub.url);
  const store = feedStore(t, connection);
  const status = watch(connection);
  const live = status.next('live');
  connection.start();
  await live;

  const published = new Promise<void>((resolve) =>
    store.subscribe((state) => {
      if (state.devices.get('a')?.presence.status === 'online') resolve();
    }),
  );
  hub.push(hub.conns[0]!, {
    event: 'presence',
    deviceId: 'a',
    presence: { status: 'online', since: T0 + 1, reason: 'connected', transport: 'mqtt' },
    lastSeen: T0 + 1,
  });
  hub.push(hub.conns[0]!, { event: 'telemetry', deviceId: 'a', ts: T0 + 2, metrics: { temperature: 21.5 } });
  await published;
  store.flush();
  const a = store.state.devices.get('a')!;
  t.equal(a.presence.status, 'online');
  t.strictSame(a.latest, { temperature: { value: 21.5, ts: T0 + 2 } });
  t.strictSame(store.state.counts, { online: 1, offline: 0, unknown: 0, total: 1 });
});

t.test('request() resolves data and rejects error answers with their code', async (t) => {
  const hub = await fakeHub(t, {
    answer: (request) =>
      request.op === 'subscribe'
        ? { id: request.id, status: 'ok', data: { devices: [] } }
        : { id: request.id, status: 'error', error: 'bad_request', message: 'bad request: nope' },
  });
  const connection = connect(t, hub.url);
  await t.rejects(connection.request({ op: 'ping' }), { code: 'not_connected' }, 'not before the socket is open');
  const status = watch(connection);
  const live = status.next('live');
  connection.start();
  await live;
  const error = await connection.request({ op: 'ping' }).catch((e: unknown) => e);
  t.ok(error instanceof LiveRequestError);
  t.match(error, { code: 'bad_request', message: 'bad request: nope' });
});

t.test('stop() closes the socket, rejects pending requests and schedules nothing', async (t) => {
  const hub = await fakeHub(t, {
    answer: (request) => (request.op === 'subscribe' ? { id: request.id, status: 'ok', data: { devices: [] } } : undefined),
  });
  const connection = connect(t, hub.url);
  const status = watch(connection);
  const live = status.next('live');
  connection.start();
  await live;
  const pending = connection.request({ op: 'ping' });
  connection.stop();
  await t.rejects(pending, { code: 'closed' });
  t.equal((await hub.conns[0]!.closed).code, 1000);
  t.strictSame(connection.state, { status: 'offline', attempt: 0, nextRetryAt: null, lastError: null });
  await sleep(300);
  t.equal(hub.conns.length, 1, 'no reconnect after stop');

  // It can start again.
  const again = status.next('live');
  connection.start();
  await again;
  t.equal(hub.conns.length, 2);
});

t.test('stop() during the backoff cancels the retry timer', async (t) => {
  const first = await fakeHub(t);
  await first.close();
  const connection = connect(t, first.url, { minDelayMs: 60_000, maxDelayMs: 60_000 });
  const status = watch(connection);
  const reconnecting = status.next('reconnecting');
  connection.start();
  await reconnecting;
  // Counted synchronously around stop(): nothing else can start or end a timer in between.
  const waiting = activeTimers();
  connection.stop();
  t.equal(connection.state.status, 'offline');
  t.equal(activeTimers(), waiting - 1, 'stop() cleared the retry timer');
});

t.test('retryNow() skips the rest of the backoff', async (t) => {
  const first = await fakeHub(t);
  const port = first.port;
  await first.close();
  const connection = connect(t, first.url, { minDelayMs: 60_000, maxDelayMs: 60_000 });
  const status = watch(connection);
  const reconnecting = status.next('reconnecting');
  connection.start();
  await reconnecting;
  const hub = await fakeHub(t, { port });
  const live = status.next('live');
  connection.retryNow();
  await live;
  t.equal(hub.conns.length, 1);
});

t.test('a token that cannot be a subprotocol reads unauthorized at once', async (t) => {
  const hub = await fakeHub(t);
  const connection = connect(t, hub.url, { token: 'has spaces/and=signs' });
  connection.start();
  t.equal(connection.state.status, 'unauthorized');
  t.match(connection.state.lastError, /cannot open the live socket/);
  t.equal(hub.conns.length, 0);
});

t.test('the interest decides the subscribe; changing it re-subscribes on the same socket', async (t) => {
  const hub = await fakeHub(t, {
    // Like the hub: a snapshot of the devices asked for.
    answer: (request) => {
      if (request.op !== 'subscribe') return { id: request.id, status: 'ok' };
      const all = [device('a'), device('b')];
      const wanted = request.devices === '*' ? all : all.filter((d) => (request.devices as string[]).includes(d.id));
      return { id: request.id, status: 'ok', data: { devices: wanted } };
    },
  });
  const overview = { devices: '*', events: ['telemetry', 'presence', 'device'] } as const;
  const connection = connect(t, hub.url, { interest: overview });
  const store = new DeviceStore();
  t.teardown(() => store.dispose());
  const snapshots: Array<{ ids: string[]; devices: '*' | readonly string[] }> = [];
  connection.on('snapshot', ({ devices, interest }) => {
    snapshots.push({ ids: devices.map((d) => d.id), devices: interest.devices });
    store.applySnapshot(devices, interest.devices);
  });
  const status = watch(connection);
  const live = status.next('live');
  connection.start();
  await live;
  t.strictSame(hub.conns[0]!.requests, [{ id: 1, op: 'subscribe', devices: '*', events: ['telemetry', 'presence', 'device'] }]);

  connection.setInterest({ devices: '*', events: ['telemetry', 'presence', 'device'] });
  await sleep(20);
  t.equal(hub.conns[0]!.requests.length, 1, 'an equal interest sends nothing');

  // A device page: one device, every event kind. The hub adds devices to a
  // subscription, so the client unsubscribes from everything first.
  connection.setInterest({ devices: ['b'] });
  await until(() => snapshots.length === 2, 'the device snapshot');
  t.strictSame(hub.conns[0]!.requests.slice(1), [
    { id: 2, op: 'unsubscribe', devices: '*' },
    { id: 3, op: 'subscribe', devices: ['b'], events: ALL_EVENTS },
  ]);
  t.strictSame(snapshots[1], { ids: ['b'], devices: ['b'] });
  store.flush();
  t.strictSame([...store.state.devices.keys()].sort(), ['a', 'b'], 'the other devices are kept as last seen');
  t.equal(store.state.complete, false, 'but the store says it no longer follows them all');

  // An overflow re-subscribes to the same interest: no unsubscribe needed.
  hub.push(hub.conns[0]!, { event: 'overflow', dropped: 1 });
  await until(() => snapshots.length === 3, 'the resync snapshot');
  t.strictSame(hub.conns[0]!.requests.slice(3), [{ id: 4, op: 'subscribe', devices: ['b'], events: ALL_EVENTS }]);

  // Two changes in a row while a subscribe is in flight: the last one wins.
  connection.setInterest({ devices: ['a'] });
  connection.setInterest(overview);
  await until(() => snapshots.at(-1)?.devices === '*' && hub.conns[0]!.requests.length >= 8, 'the overview snapshot');
  t.strictSame(hub.conns[0]!.requests.slice(-2), [
    { id: 7, op: 'unsubscribe', devices: '*' },
    { id: 8, op: 'subscribe', devices: '*', events: ['telemetry', 'presence', 'device'] },
  ]);
  store.flush();
  t.equal(store.state.complete, true);
  t.equal(hub.conns.length, 1, 'all on one socket');

  // After a reconnect the new socket subscribes to the interest of the moment, once.
  connection.setInterest({ devices: ['a'] });
  await until(() => snapshots.at(-1)?.devices !== '*', 'the device snapshot');
  hub.conns[0]!.ws.terminate();
  await until(() => hub.conns.length === 2 && hub.conns[1]!.requests.length === 1, 'the resubscribe');
  t.strictSame(hub.conns[1]!.requests, [{ id: 11, op: 'subscribe', devices: ['a'], events: ALL_EVENTS }]);
});

t.test('sameInterest compares devices and event kinds in order', async (t) => {
  t.ok(sameInterest({ devices: '*' }, { devices: '*' }));
  t.notOk(sameInterest({ devices: '*' }, { devices: ['a'] }));
  t.ok(sameInterest({ devices: ['a', 'b'] }, { devices: ['a', 'b'] }));
  t.notOk(sameInterest({ devices: ['a', 'b'] }, { devices: ['a'] }));
  t.notOk(sameInterest({ devices: '*', events: ['telemetry'] }, { devices: '*' }));
  t.ok(sameInterest({ devices: '*', events: ['telemetry'] }, { devices: '*', events: ['telemetry'] }));
});

t.test('a device page for a device the hub does not know stays live with an empty snapshot instead of reconnecting', async (t) => {
  const hub = await fakeHub(t, {
    // Like the hub: ids that do not exist are refused with not_found.
    answer: (request) =>
      request.op === 'subscribe' && request.devices !== '*'
        ? { id: request.id, status: 'error', error: 'not_found', message: 'not found: no device "gone"' }
        : { id: request.id, status: 'ok', data: request.op === 'subscribe' ? { devices: [device('a')] } : undefined },
  });
  const connection = connect(t, hub.url, { interest: { devices: ['gone'] } });
  const snapshots: { ids: string[]; devices: '*' | readonly string[] }[] = [];
  connection.on('snapshot', ({ devices, interest }) => snapshots.push({ ids: devices.map((d) => d.id), devices: interest.devices }));
  const status = watch(connection);
  const live = status.next('live');
  connection.start();
  await live;
  t.strictSame(snapshots, [{ ids: [], devices: ['gone'] }], 'nothing to show for it');
  await sleep(50);
  t.equal(hub.conns.length, 1, 'no reconnect');
  t.equal(hub.conns[0]!.requests.length, 1, 'no resubscribe loop');
  connection.setInterest({ devices: '*' });
  await until(() => snapshots.length === 2, 'the overview snapshot');
  t.strictSame(snapshots[1], { ids: ['a'], devices: '*' });
});
