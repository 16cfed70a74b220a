/** LiveConnection recovery: reconnects, backoff, overflow resync, refused auth and dead sockets, against a fake hub. */
import t from 'tap';
import type { DashboardEvent, DeviceView } from '@iot-hub/protocol';
import { ALL_EVENTS, T0, connect, device, fakeHub, feedStore, sleep, until, watch } from './helpers/fake-hub.js';

t.test('reconnects after the hub drops the socket and resyncs with a fresh snapshot', async (t) => {
  const hub = await fakeHub(t);
  const connection = connect(t, hub.url);
  const status = watch(connection);
  const snapshots: DeviceView[][] = [];
  connection.on('snapshot', ({ devices }) => snapshots.push(devices));

  let live = status.next('live');
  connection.start();
  await live;

  hub.setSnapshot([device('a'), device('b')]);
  const reconnecting = status.next('reconnecting');
  live = status.next('live');
  hub.conns[0]!.ws.close(1001, 'hub shutting down');
  const waiting = await reconnecting;
  t.equal(waiting.attempt, 1);
  t.not(waiting.nextRetryAt, null, 'a retry is scheduled');
  t.match(waiting.lastError, /code 1001/);
  await live;

  t.equal(hub.conns.length, 2, 'a second socket');
  t.strictSame(hub.conns[1]!.requests, [{ id: 2, op: 'subscribe', devices: '*', events: ALL_EVENTS }], 'which subscribed again');
  t.strictSame(
    snapshots.map((devices) => devices.map((d) => d.id)),
    [['a'], ['a', 'b']],
    'the new snapshot was handed on',
  );
  t.strictSame(status.statuses(), ['connecting', 'live', 'reconnecting', 'live']);
  t.equal(connection.state.attempt, 0, 'live resets the attempt counter');
});

t.test('backs off exponentially, reads offline after several failures, recovers when the hub returns', async (t) => {
  const first = await fakeHub(t);
  const port = first.port;
  await first.close();

  const connection = connect(t, `ws://127.0.0.1:${port}/ws/dashboard`, { offlineAfterAttempts: 2, now: () => 0 });
  const status = watch(connection);
  const offline = status.next('offline');
  connection.start();
  await offline;
  // Let a few more attempts fail at the capped delay.
  while (status.states.length < 6) await status.next('offline');

  const failures = status.states.slice(1);
  t.strictSame(
    failures.map((s) => s.attempt),
    [1, 2, 3, 4, 5],
    'every failure counted',
  );
  t.strictSame(
    failures.map((s) => s.status),
    ['reconnecting', 'reconnecting', 'offline', 'offline', 'offline'],
  );
  // random() = 0: the lower edge of each jitter window, so the exact delays.
  t.strictSame(
    failures.map((s) => s.nextRetryAt),
    [20, 20, 40, 50, 50],
    'delays double from min and stop at max',
  );

  const hub = await fakeHub(t, { port });
  const live = status.next('live');
  await live;
  t.equal(hub.conns.length, 1);
  t.equal(connection.state.attempt, 0);
  t.equal(connection.state.lastError, null);
});

t.test('overflow makes the client resubscribe; the new snapshot replaces the store', async (t) => {
  const hub = await fakeHub(t);
  hub.setSnapshot([device('a'), device('b')]);
  const connection = connect(t, hub.url);
  const store = feedStore(t, connection);
  const status = watch(connection);
  const live = status.next('live');
  connection.start();
  await live;
  store.flush();
  t.equal(store.state.devices.size, 2);

  hub.setSnapshot([device('b', { lastSeen: T0 + 9 })]);
  const events: DashboardEvent[] = [];
  connection.on('event', (event) => events.push(event));
  const resynced = new Promise<void>((resolve) =>
    store.subscribe((state) => {
      if (state.devices.size === 1 && !state.stale) resolve();
    }),
  );
  hub.push(hub.conns[0]!, { event: 'overflow', dropped: 7 });
  await until(() => hub.conns[0]!.requests.length === 2);
  t.strictSame(hub.conns[0]!.requests[1], { id: 2, op: 'subscribe', devices: '*', events: ALL_EVENTS }, 'resubscribed on the same socket');
  await resynced;
  store.flush();
  t.strictSame([...store.state.devices.keys()], ['b']);
  t.equal(store.state.devices.get('b')!.lastSeen, T0 + 9);
  t.equal(store.state.stale, false);
  t.equal(hub.conns.length, 1, 'no reconnect was needed');
  t.equal(connection.state.status, 'live');
  t.strictSame(events, [{ event: 'overflow', dropped: 7 }], 'the overflow was handed on too (the store marks itself stale)');
});

t.test('a close with 4401 reads unauthorized and stops retrying', async (t) => {
  const hub = await fakeHub(t, {
    answer: (request, conn) => {
      conn.ws.close(4401, 'token revoked');
      return undefined;
    },
  });
  const connection = connect(t, hub.url);
  const status = watch(connection);
  const unauthorized = status.next('unauthorized');
  connection.start();
  const state = await unauthorized;
  t.equal(state.lastError, 'token revoked');
  t.equal(state.nextRetryAt, null, 'no retry scheduled');
  await sleep(300); // Three times the max backoff: a retry would have happened by now.
  t.equal(hub.conns.length, 1, 'no reconnect');
  t.strictSame(status.statuses(), ['connecting', 'unauthorized']);
});

t.test('an upgrade refused with HTTP 401: checkAuth confirms and the status reads unauthorized', async (t) => {
  const hub = await fakeHub(t, { refuseWith: 401 });
  let checks = 0;
  const connection = connect(t, hub.url, {
    checkAuth: async () => {
      checks++;
      return false;
    },
  });
  const status = watch(connection);
  const unauthorized = status.next('unauthorized');
  connection.start();
  await unauthorized;
  t.equal(checks, 1);
  t.equal(connection.state.nextRetryAt, null);
  t.strictSame(status.statuses(), ['connecting', 'unauthorized']);
});

t.test('a refused upgrade with a valid token (checkAuth true) is retried', async (t) => {
  const hub = await fakeHub(t, { refuseWith: 503 });
  let checks = 0;
  const connection = connect(t, hub.url, {
    checkAuth: async () => {
      checks++;
      return true;
    },
  });
  const status = watch(connection);
  connection.start();
  while (status.states.length < 3) await status.next('reconnecting');
  t.strictSame(status.statuses(), ['connecting', 'reconnecting', 'reconnecting']);
  t.equal(checks, 2, 'asked after each failed upgrade');
  connection.stop();
  t.equal(connection.state.status, 'offline');
  t.equal(connection.state.nextRetryAt, null);
});

t.test('a subscribe answered with error "unauthorized" reads unauthorized', async (t) => {
  const hub = await fakeHub(t, {
    answer: (request) => ({ id: request.id, status: 'error', error: 'unauthorized', message: 'viewer tokens expired' }),
  });
  const connection = connect(t, hub.url);
  const status = watch(connection);
  const unauthorized = status.next('unauthorized');
  connection.start();
  t.equal((await unauthorized).lastError, 'viewer tokens expired');
  const { code } = await hub.conns[0]!.closed;
  t.equal(code, 1000, 'the client closed its socket');
});

t.test('a subscribe error other than auth drops the socket and retries', async (t) => {
  const hub = await fakeHub(t, {
    answer: (request, _conn, index) =>
      index === 0
        ? { id: request.id, status: 'error', error: 'internal_error', message: 'internal error' }
        : { id: request.id, status: 'ok', data: { devices: [] } },
  });
  const connection = connect(t, hub.url);
  const status = watch(connection);
  const live = status.next('live');
  connection.start();
  await live;
  t.strictSame(status.statuses(), ['connecting', 'reconnecting', 'live']);
  t.match(status.states[1]!.lastError, /subscribe failed: internal error/);
  t.equal((await hub.conns[0]!.closed).code, 4000);
});

t.test('a hub that stops answering pings is dropped and reconnected', async (t) => {
  const hub = await fakeHub(t, {
    answer: (request, conn) => {
      if (request.op === 'subscribe') return { id: request.id, status: 'ok', data: { devices: [] } };
      // The first socket goes silent after the snapshot; later ones answer.
      return conn === hub.conns[0] ? undefined : { id: request.id, status: 'ok', data: { ts: 1 } };
    },
  });
  const connection = connect(t, hub.url, { pingIntervalMs: 30, requestTimeoutMs: 150 });
  const status = watch(connection);
  connection.start();
  await status.next('live');
  const reconnecting = await status.next('reconnecting');
  t.match(reconnecting.lastError, /stopped answering/);
  await status.next('live');
  t.equal((await hub.conns[0]!.closed).code, 4000, 'the silent socket was closed by the client');
  await until(() => hub.conns[1]!.requests.some((r) => r.op === 'ping'));
  t.ok(
    hub.conns[0]!.requests.some((r) => r.op === 'ping'),
    'pings were sent on the first socket',
  );
});
