/**
 * A fake hub for LiveConnection tests: a real `ws` server speaking just
 * enough of the dashboard protocol, and helpers to drive and watch a
 * connection to it.
 */
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { DASHBOARD_SUBPROTOCOL, type DashboardEvent, type DeviceView } from '@iot-hub/protocol';
import { DeviceStore } from '../../src/data/device-store.js';
import { LiveConnection, type LiveConnectionOptions, type LiveState, type LiveStatus } from '../../src/data/live-connection.js';

export interface TapLike {
  teardown(fn: () => unknown): void;
}

export const TOKEN = 'test-token_0123456789';
/** What the client subscribes to by default; it always names the kinds it wants. */
export const ALL_EVENTS = ['telemetry', 'presence', 'device', 'command', 'state', 'alert'];
export const T0 = 1_750_000_000_000;

export function device(id: string, overrides: Partial<DeviceView> = {}): DeviceView {
  return {
    id,
    kind: 'sensor',
    name: id,
    room: null,
    labels: [],
    createdAt: T0,
    presence: { status: 'offline', since: T0, reason: 'never-connected', transport: null },
    lastSeen: null,
    latest: {},
    capabilities: null,
    stats: { messages: 0, duplicates: 0, seqGaps: 0, seqResets: 0, errors: 0 },
    ...overrides,
  };
}

export type Frame = Record<string, unknown> & { id?: number; op?: string };

/** One socket the fake hub accepted, with what it received. */
export interface ServerConn {
  ws: WebSocket;
  req: IncomingMessage;
  requests: Frame[];
  closed: Promise<{ code: number; reason: string }>;
}

export interface FakeHubOptions {
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
export async function fakeHub(t: TapLike, options: FakeHubOptions = {}) {
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
export function watch(connection: LiveConnection) {
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

export function connect(t: TapLike, url: string, options: Partial<LiveConnectionOptions> = {}) {
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

/** A device store fed by the connection's snapshots and events, as the app wires it. */
export function feedStore(t: TapLike, connection: LiveConnection): DeviceStore {
  const store = new DeviceStore();
  t.teardown(() => store.dispose());
  connection.on('snapshot', ({ devices, interest }) => store.applySnapshot(devices, interest.devices));
  connection.on('event', (event) => store.applyEvent(event));
  return store;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Timers alive in this process: proves a connection leaves none behind. */
export const activeTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

/** Polls until `predicate` holds; fails loudly after a generous timeout. */
export async function until(predicate: () => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
