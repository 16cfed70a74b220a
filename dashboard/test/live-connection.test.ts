import t from 'tap';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { DASHBOARD_SUBPROTOCOL, type DashboardEvent, type DeviceView } from '@iot-hub/protocol';
import { backoffDelay } from '../src/data/backoff.js';
import {
  dashboardSocketUrl,
  LiveConnection,
  LiveRequestError,
  sameInterest,
  type LiveConnectionOptions,
  type LiveState,
  type LiveStatus,
} from '../src/data/live-connection.js';
import { DeviceStore } from '../src/data/device-store.js';

interface TapLike {
  teardown(fn: () => unknown): void;
}

const TOKEN = 'test-token_0123456789';
/** A subscribe names its event kinds even when it wants them all: the hub keeps a socket's earlier kinds otherwise. */
const ALL_EVENTS = ['telemetry', 'presence', 'device', 'command', 'state'];
const T0 = 1_750_000_000_000;

function device(id: string, overrides: Partial<DeviceView> = {}): DeviceView {
  return {
    id,
    kind: 'sensor',
    name: id,
    createdAt: T0,
    presence: { status: 'offline', since: T0, reason: 'never-connected', transport: null },
    lastSeen: null,
    latest: {},
    capabilities: null,
    stats: { messages: 0, duplicates: 0, seqGaps: 0, errors: 0 },
    ...overrides,
  };
}

type Frame = Record<string, unknown> & { id?: number; op?: string };

/** One socket the fake hub accepted, with what it received. */
interface ServerConn {
  ws: WebSocket;
  req: IncomingMessage;
  requests: Frame[];
  closed: Promise<{ code: number; reason: string }>;
}

interface FakeHubOptions {
  port?: number;
  /** Refuse the upgrade with this HTTP status. */
  refuseWith?: number;
  /** Answer for a request; undefined means "do not answer". Default: snapshot for subscribe, ok for ping. */
  answer?: (request: Frame, conn: ServerConn, index: number) => unknown;
}

/**
 * A real `ws` server speaking the dashboard protocol, just enough of it: the
 * subprotocol, the envelope, snapshots on subscribe and pushes on demand.
 */
async function fakeHub(t: TapLike, options: FakeHubOptions = {}) {
  const conns: ServerConn[] = [];
  let snapshot: DeviceView[] = [device('a')];
  const wss = new WebSocketServer({
    port: options.port ?? 0,
    host: '127.0.0.1',
    handleProtocols: (protocols) => (protocols.has(DASHBOARD_SUBPROTOCOL) ? DASHBOARD_SUBPROTOCOL : false),
    verifyClient:
      options.refuseWith === undefined ? undefined : (_info, callback) => callback(false, options.refuseWith, 'Refused'),
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const port = (wss.address() as AddressInfo).port;
  let requestCount = 0;

  wss.on('connection', (ws, req) => {
    const conn: ServerConn = {
      ws,
      req,
      requests: [],
      closed: new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
    };
    conns.push(conn);
    ws.on('message', (data) => {
      const request = JSON.parse(data.toString()) as Frame;
      conn.requests.push(request);
      const answer = options.answer
        ? options.answer(request, conn, requestCount++)
        : request.op === 'subscribe'
          ? { id: request.id, status: 'ok', data: { devices: snapshot } }
          : { id: request.id, status: 'ok', data: { ts: Date.now() } };
      if (answer !== undefined) ws.send(JSON.stringify(answer));
    });
  });

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
  t.teardown(close);

  return {
    port,
    url: `ws://127.0.0.1:${port}/ws/dashboard`,
    conns,
    close,
    setSnapshot(devices: DeviceView[]) {
      snapshot = devices;
    },
    push(conn: ServerConn, event: DashboardEvent) {
      conn.ws.send(JSON.stringify(event));
    },
  };
}

/** Records every status and resolves waits for a given one. */
function watch(connection: LiveConnection) {
  const states: LiveState[] = [];
  const waiters: Array<{ status: LiveStatus; after: number; resolve: (state: LiveState) => void }> = [];
  connection.on('status', (state) => {
    states.push(state);
    for (const waiter of [...waiters]) {
      if (state.status === waiter.status && states.length > waiter.after) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(state);
      }
    }
  });
  return {
    states,
    statuses: () => states.map((state) => state.status),
    /** The next time the status becomes `status` (after the states seen so far). */
    next(status: LiveStatus): Promise<LiveState> {
      return new Promise((resolve) => waiters.push({ status, after: states.length, resolve }));
    },
  };
}

function connect(t: TapLike, url: string, options: Partial<LiveConnectionOptions> = {}) {
  const connection = new LiveConnection({
    url,
    token: TOKEN,
    WebSocket: WebSocket,
    minDelayMs: 20,
    maxDelayMs: 100,
    random: () => 0,
    pingIntervalMs: 0,
    ...options,
  });
  t.teardown(() => connection.stop());
  return connection;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Timers alive in this process: proves a connection leaves none behind. */
const activeTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

/** Polls until `predicate` holds; fails loudly after a generous timeout. */
async function until(predicate: () => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

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
  const store = new DeviceStore();
  t.teardown(() => store.dispose());
  connection.on('snapshot', ({ devices, interest }) => store.applySnapshot(devices, interest.devices));
  connection.on('event', (event) => store.applyEvent(event));
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
  const store = new DeviceStore();
  t.teardown(() => store.dispose());
  connection.on('snapshot', ({ devices, interest }) => store.applySnapshot(devices, interest.devices));
  connection.on('event', (event) => store.applyEvent(event));
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
