/**
 * The one live socket of the app: `/ws/dashboard`, JSON text frames, the
 * `{id, op}` → `{id, status}` envelope, and server pushes of what we
 * subscribed to. It keeps itself connected (exponential backoff with jitter)
 * and resyncs after every reconnect and after an `overflow`, by subscribing
 * again: the subscribe answer is a full snapshot that replaces client state.
 *
 * What it subscribes to is the page's *interest* (setInterest): every device
 * with the events the overview shows, or one device with everything its page
 * shows. Changing the interest re-subscribes on the same socket.
 *
 * No DOM: the WebSocket class is a parameter (browsers pass nothing and get
 * `globalThis.WebSocket`; Node tests pass the `ws` class).
 */
import { DASHBOARD_SUBPROTOCOL, DEFAULT_DASHBOARD_EVENT_KINDS } from '@iot-hub/protocol';
import { backoffDelay } from './backoff.js';
import type {
  DashboardEvent,
  DashboardEventKind,
  DashboardRequest,
  DashboardServerFrame,
  DeviceView,
  SubscribeResult,
} from '@iot-hub/protocol';

/**
 * connecting: first attempt; live: subscribed and in sync; reconnecting: lost,
 * retrying soon; offline: not connected for several attempts (still retrying,
 * at most every maxDelayMs) or stopped; unauthorized: the hub refused the
 * token, nothing more is tried until a new token is given.
 */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'unauthorized';

export interface LiveState {
  status: LiveStatus;
  /** Failed attempts since the connection was last live. */
  attempt: number;
  /** Epoch ms of the next scheduled attempt, null when none is scheduled. */
  nextRetryAt: number | null;
  /** Why the last attempt failed or the socket closed; null while live. */
  lastError: string | null;
}

/**
 * True once an attempt failed or a live socket was lost, until the next
 * snapshot: what the page shows may be out of date and nothing can be sent.
 * Said at the first failure (not after several attempts): a hub that is
 * down should read as down at once.
 */
export function hubUnreachable(state: LiveState): boolean {
  return (state.status === 'reconnecting' || state.status === 'offline') && state.lastError !== null;
}

/** Close code the hub uses for a refused token (4000 + HTTP 401). */
export const CLOSE_UNAUTHORIZED = 4401;
/** `lastError` when the hub refused the token without saying more. */
export const TOKEN_REFUSED = 'the hub refused the token';
/** Close code we use when we drop a socket that stopped answering. */
export const CLOSE_CLIENT_RESYNC = 4000;

/** The part of the WebSocket API used here; both the DOM class and `ws` fit it. */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}
export type SocketConstructor = new (url: string, protocols: string[]) => SocketLike;

const OPEN = 1;

/** `ws:`/`wss:` URL of the dashboard socket on the page's own origin. */
export function dashboardSocketUrl(location: { protocol: string; host: string }, path = '/ws/dashboard'): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}

export interface LiveConnectionOptions {
  url: string;
  token: string;
  WebSocket?: SocketConstructor;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** What to subscribe to first; EVERYTHING when absent. */
  interest?: LiveInterest;
  /** Failed attempts after which the status reads 'offline' instead of 'reconnecting'. */
  offlineAfterAttempts?: number;
  requestTimeoutMs?: number;
  /** Application-level ping while live, to notice a dead link; 0 disables. */
  pingIntervalMs?: number;
  /**
   * Asked when a socket fails before opening: browsers hide the upgrade's
   * HTTP status, so an auth failure looks like any other. Resolve false when
   * the token is refused (for example an API call answered 401).
   */
  checkAuth?: () => Promise<boolean>;
  random?: () => number;
  now?: () => number;
}

/** What the page shows, so what the socket subscribes to. */
export interface LiveInterest {
  /** Device ids, or "*" for every device (including ones added later). */
  readonly devices: '*' | readonly string[];
  /** Event kinds wanted; every kind but the raw `message` feed when absent. */
  readonly events?: readonly DashboardEventKind[];
}

/** Every device, every event: what a connection subscribes to until told otherwise. */
export const EVERYTHING: LiveInterest = Object.freeze({ devices: '*' });

export function sameInterest(a: LiveInterest, b: LiveInterest): boolean {
  const sameList = (x: readonly string[] | undefined, y: readonly string[] | undefined) =>
    x === y || (x !== undefined && y !== undefined && x.length === y.length && x.every((item, i) => item === y[i]));
  const devicesMatch = a.devices === '*' || b.devices === '*' ? a.devices === b.devices : sameList(a.devices, b.devices);
  return devicesMatch && sameList(a.events, b.events);
}

/** The answer to a subscribe: the current view of the devices the interest names. */
export interface LiveSnapshot {
  devices: DeviceView[];
  /** The interest this snapshot answers; its `devices` is the part of client state it replaces. */
  interest: LiveInterest;
}

/** An `{status:'error'}` answer, or a request that could not complete. */
export class LiveRequestError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'LiveRequestError';
    this.code = code;
  }
}

interface LiveEvents {
  status: LiveState;
  snapshot: LiveSnapshot;
  event: DashboardEvent;
}
type Listener<K extends keyof LiveEvents> = (value: LiveEvents[K]) => void;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request without its `id`: the connection numbers requests itself. */
export type LiveRequest = DistributiveOmit<DashboardRequest, 'id'>;

interface Pending {
  resolve(data: unknown): void;
  reject(error: LiveRequestError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class LiveConnection {
  private readonly opts: Required<Omit<LiveConnectionOptions, 'checkAuth' | 'WebSocket' | 'interest'>> &
    Pick<LiveConnectionOptions, 'checkAuth'>;
  private readonly Socket: SocketConstructor | undefined;
  private readonly listeners: { [K in keyof LiveEvents]: Set<Listener<K>> } = {
    status: new Set(),
    snapshot: new Set(),
    event: new Set(),
  };
  private socket: SocketLike | null = null;
  private running = false;
  /** Bumped for every socket; async work started for an older one is ignored. */
  private generation = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setTimeout> | null = null;
  /** True from the first snapshot of a socket until it is dropped: one ping loop per socket. */
  private pinging = false;
  private subscribing = false;
  private resyncAgain = false;
  private interest: LiveInterest;
  /** What the current socket is subscribed to (null before its first subscribe). */
  private subscribed: LiveInterest | null = null;
  private current: LiveState = { status: 'offline', attempt: 0, nextRetryAt: null, lastError: null };

  constructor(options: LiveConnectionOptions) {
    this.Socket = options.WebSocket ?? (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
    this.interest = options.interest ?? EVERYTHING;
    this.opts = {
      url: options.url,
      token: options.token,
      minDelayMs: options.minDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 15_000,
      offlineAfterAttempts: options.offlineAfterAttempts ?? 4,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      pingIntervalMs: options.pingIntervalMs ?? 25_000,
      checkAuth: options.checkAuth,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
    };
  }

  get state(): LiveState {
    return this.current;
  }

  on<K extends keyof LiveEvents>(type: K, listener: Listener<K>): () => void {
    this.listeners[type].add(listener);
    return () => this.listeners[type].delete(listener);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.setState({ status: 'connecting', attempt: 0, nextRetryAt: null, lastError: null });
    this.open();
  }

  /** Closes the socket and cancels every timer; the connection can be started again. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.clearRetry();
    this.dropSocket(1000, 'client stopped', 'stopped');
    this.setState({ status: 'offline', attempt: 0, nextRetryAt: null, lastError: null });
  }

  /** Skip the remaining backoff (a "retry now" button, the browser going online). */
  retryNow(): void {
    if (!this.running || this.retryTimer === null) return;
    this.clearRetry();
    this.setState({ ...this.current, nextRetryAt: null });
    this.open();
  }

  /**
   * Subscribes to `interest` instead of the current one: at once on a live
   * socket (the answer is a snapshot of what is now of interest), else on
   * the next connect.
   */
  setInterest(interest: LiveInterest): void {
    if (sameInterest(interest, this.interest)) return;
    this.interest = interest;
    if (this.socket?.readyState === OPEN && this.subscribed !== null) this.resync();
  }

  /** Sends one request in the envelope and resolves with its `data`. */
  request<T = unknown>(body: LiveRequest): Promise<T> {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) {
      return Promise.reject(new LiveRequestError('not_connected', 'the live connection is not open'));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LiveRequestError('timeout', `no answer to "${body.op}" within ${this.opts.requestTimeoutMs} ms`));
      }, this.opts.requestTimeoutMs);
      this.pending.set(id, { resolve: resolve as (data: unknown) => void, reject, timer });
      socket.send(JSON.stringify({ id, ...body }));
    });
  }

  private open(): void {
    const generation = ++this.generation;
    let opened = false;
    let socket: SocketLike;
    try {
      if (!this.Socket) throw new Error('no WebSocket implementation available');
      // No token: a signed-in browser's session cookie rides the upgrade by itself.
      socket = new this.Socket(this.opts.url, this.opts.token === '' ? [DASHBOARD_SUBPROTOCOL] : [DASHBOARD_SUBPROTOCOL, `bearer.${this.opts.token}`]);
    } catch (error) {
      // The constructor throws SyntaxError for a subprotocol with characters
      // outside the HTTP token set: such a token can never be sent.
      this.unauthorized(`cannot open the live socket: ${(error as Error).message}`);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      this.resync();
    };
    socket.onmessage = (event) => this.onFrame(event.data);
    socket.onerror = () => {
      // Always followed by a close event, which does the work.
    };
    socket.onclose = (event) => {
      this.detach(socket, 'connection closed');
      if (!this.running || generation !== this.generation) return;
      if (event.code === CLOSE_UNAUTHORIZED) {
        this.unauthorized(event.reason || TOKEN_REFUSED);
      } else if (!opened && this.opts.checkAuth) {
        const reason = `could not connect (code ${event.code})`;
        this.opts.checkAuth().then(
          (ok) => {
            if (!this.running || generation !== this.generation) return;
            if (ok) this.scheduleRetry(reason);
            else this.unauthorized(TOKEN_REFUSED);
          },
          () => {
            if (this.running && generation === this.generation) this.scheduleRetry(reason);
          },
        );
      } else {
        this.scheduleRetry(opened ? `connection closed (code ${event.code})` : `could not connect (code ${event.code})`);
      }
    };
  }

  private onFrame(data: unknown): void {
    let frame: DashboardServerFrame;
    try {
      frame = JSON.parse(String(data)) as DashboardServerFrame;
    } catch {
      return; // The hub sends JSON only; a broken frame carries nothing we could use.
    }
    if (typeof frame !== 'object' || frame === null) return;
    if ('event' in frame) {
      if (frame.event === 'overflow') this.resync();
      this.emit('event', frame);
      return;
    }
    if (typeof frame.id !== 'number') return;
    const pending = this.pending.get(frame.id);
    if (!pending) return;
    this.pending.delete(frame.id);
    clearTimeout(pending.timer);
    if (frame.status === 'ok') pending.resolve(frame.data);
    else pending.reject(new LiveRequestError(frame.error, frame.message));
  }

  /**
   * Subscribes to the interest; the answer is a snapshot that replaces the
   * client state of what the interest names. The hub adds the devices of a
   * subscribe to those the socket already has, so a changed interest first
   * unsubscribes from everything (frames are handled in order, so no event
   * of the new interest falls between the two).
   */
  private resync(): void {
    if (this.subscribing) {
      // Events may have been dropped after the snapshot in flight was taken.
      this.resyncAgain = true;
      return;
    }
    this.subscribing = true;
    // Answers that arrive after this socket was dropped are stale: whoever
    // dropped it already decided what happens next.
    const socket = this.socket;
    const interest = this.interest;
    if (this.subscribed !== null && !sameInterest(this.subscribed, interest)) {
      // A failure shows in the subscribe that follows: nothing to do here.
      this.request({ op: 'unsubscribe', devices: '*' }).catch(() => {});
    }
    this.subscribed = interest;
    // Event kinds always explicit: the request says exactly what this interest needs.
    const request: LiveRequest = {
      op: 'subscribe',
      devices: interest.devices === '*' ? '*' : [...interest.devices],
      events: [...(interest.events ?? DEFAULT_DASHBOARD_EVENT_KINDS)],
    };
    this.request<SubscribeResult>(request).then(
      (result) => {
        if (socket !== this.socket) return;
        this.subscribing = false;
        if (!result || !Array.isArray(result.devices)) {
          this.failSocket('subscribe answered without a device list');
          return;
        }
        this.onSnapshot(socket, { devices: result.devices, interest });
      },
      (error: LiveRequestError) => {
        if (socket !== this.socket) return;
        this.subscribing = false;
        if (error.code === 'unauthorized') this.unauthorized(error.message);
        // A device page for a device that does not exist (deleted, or a stale link): the hub
        // refuses ids it does not know. That is the answer, not a broken link: nothing to show.
        else if (error.code === 'not_found' && interest.devices !== '*') this.onSnapshot(socket, { devices: [], interest });
        else this.failSocket(`subscribe failed: ${error.message}`);
      },
    );
  }

  /** A subscribe was answered with this snapshot: the socket is live. */
  private onSnapshot(socket: SocketLike | null, snapshot: LiveSnapshot): void {
    if (socket !== this.socket) return;
    this.emit('snapshot', snapshot);
    if (this.current.status !== 'live') {
      this.setState({ status: 'live', attempt: 0, nextRetryAt: null, lastError: null });
    }
    if (!this.pinging) {
      this.pinging = true;
      this.schedulePing();
    }
    if (this.resyncAgain || !sameInterest(snapshot.interest, this.interest)) {
      this.resyncAgain = false;
      this.resync();
    }
  }

  private schedulePing(): void {
    if (this.opts.pingIntervalMs <= 0) return;
    const socket = this.socket;
    this.pingTimer = setTimeout(() => {
      this.pingTimer = null;
      // Any answer, even an error, proves the link is alive.
      this.request({ op: 'ping' }).then(
        () => {
          if (socket === this.socket) this.schedulePing();
        },
        (error: LiveRequestError) => {
          if (socket !== this.socket) return;
          if (error.code === 'timeout') this.failSocket('the hub stopped answering');
          else this.schedulePing();
        },
      );
    }, this.opts.pingIntervalMs);
  }

  /**
   * Drops a socket that is open but unusable and retries at once, without
   * waiting for a close handshake that a dead link would never finish.
   */
  private failSocket(reason: string): void {
    this.dropSocket(CLOSE_CLIENT_RESYNC, reason.slice(0, 120), reason);
    this.scheduleRetry(reason);
  }

  private scheduleRetry(reason: string): void {
    const attempt = this.current.attempt + 1;
    const delay = backoffDelay(attempt - 1, this.opts.random, this.opts);
    const status: LiveStatus = attempt > this.opts.offlineAfterAttempts ? 'offline' : 'reconnecting';
    this.clearRetry();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
    this.setState({ status, attempt, nextRetryAt: this.opts.now() + delay, lastError: reason });
  }

  private unauthorized(reason: string): void {
    this.running = false;
    this.clearRetry();
    this.dropSocket(1000, 'unauthorized', 'unauthorized');
    this.setState({ status: 'unauthorized', attempt: 0, nextRetryAt: null, lastError: reason });
  }

  private dropSocket(code: number, reason: string, rejectWith: string): void {
    const socket = this.socket;
    if (!socket) return;
    this.generation++;
    this.detach(socket, rejectWith);
    if (socket.readyState <= OPEN) socket.close(code, reason);
  }

  /** Forgets a socket: handlers off, requests rejected, per-socket timers cleared. */
  private detach(socket: SocketLike, reason: string): void {
    socket.onopen = socket.onmessage = socket.onerror = null;
    socket.onclose = () => {};
    if (this.socket === socket) this.socket = null;
    this.subscribing = false;
    this.resyncAgain = false;
    this.subscribed = null;
    this.pinging = false;
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    this.pingTimer = null;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(new LiveRequestError('closed', reason));
    }
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private setState(state: LiveState): void {
    this.current = state;
    this.emit('status', state);
  }

  private emit<K extends keyof LiveEvents>(type: K, value: LiveEvents[K]): void {
    for (const listener of this.listeners[type]) {
      try {
        listener(value);
      } catch (error) {
        // A faulty listener must not break the socket handling for the others.
        console.error(`live-connection: ${type} listener failed`, error);
      }
    }
  }
}
