/**
 * Ties the live subscription to an element's lifecycle: the socket opens
 * when the host is connected to the document and closes when it leaves, and
 * every store publication (at most one per frame) re-renders the host.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { ApiError, listDevices, type ApiAuth } from '../data/api.js';
import { DeviceStore, type DeviceState } from '../data/device-store.js';
import { dashboardSocketUrl, EVERYTHING, LiveConnection, TOKEN_REFUSED, type LiveInterest, type LiveState } from '../data/live-connection.js';

/** One token's live data: the socket, the state it feeds, and the token for API calls. */
export interface LiveSession {
  connection: LiveConnection;
  store: DeviceStore;
  auth: ApiAuth;
}

export type LiveSessionFactory = (token: string, interest: LiveInterest) => LiveSession;

/** The session the page uses: the socket on the page's origin, fed into a fresh store. */
export function createBrowserSession(token: string, interest: LiveInterest): LiveSession {
  const connection = new LiveConnection({
    url: dashboardSocketUrl(location),
    token,
    interest,
    // The browser hides the upgrade's HTTP status; ask the API whether the token is the problem.
    checkAuth: async () => {
      try {
        await listDevices({ token });
        return true;
      } catch (error) {
        return !(error instanceof ApiError && error.status === 401);
      }
    },
  });
  const store = new DeviceStore();
  connection.on('snapshot', ({ devices, interest }) => store.applySnapshot(devices, interest.devices));
  connection.on('event', (event) => store.applyEvent(event));
  return { connection, store, auth: { token } };
}

export interface LiveControllerOptions {
  /** Called once when the hub refuses the token; the session is closed by then. */
  onUnauthorized?: (reason: string) => void;
  createSession?: LiveSessionFactory;
}

const IDLE_STATE: LiveState = { status: 'offline', attempt: 0, nextRetryAt: null, lastError: null };

export class LiveController implements ReactiveController {
  /** The latest published device state. */
  devices: DeviceState = new DeviceStore().state;
  /** The socket's status, for the connection badge. */
  connection: LiveState = IDLE_STATE;

  private readonly host: ReactiveControllerHost;
  private readonly options: LiveControllerOptions;
  private token: string | null = null;
  private interest: LiveInterest = EVERYTHING;
  private hostIsConnected = false;
  private current: LiveSession | null = null;
  private readonly unsubscribes: Array<() => void> = [];

  constructor(host: ReactiveControllerHost, options: LiveControllerOptions = {}) {
    this.host = host;
    this.options = options;
    host.addController(this);
  }

  /** Switches to another token (or none): the old session ends, data starts empty. */
  setToken(token: string | null): void {
    if (token === this.token) return;
    this.close();
    this.token = token;
    this.devices = new DeviceStore().state;
    this.connection = IDLE_STATE;
    if (this.hostIsConnected) this.open();
    this.host.requestUpdate();
  }

  /** The open session, for parts of the page that add their own listeners (a device page); null without a token. */
  get session(): LiveSession | null {
    return this.current;
  }

  /** What the page shows now; the socket re-subscribes when it changes. */
  setInterest(interest: LiveInterest): void {
    this.interest = interest;
    this.current?.connection.setInterest(interest);
  }

  retryNow(): void {
    this.current?.connection.retryNow();
  }

  hostConnected(): void {
    this.hostIsConnected = true;
    window.addEventListener('online', this.nudge);
    document.addEventListener('visibilitychange', this.nudge);
    this.open();
  }

  hostDisconnected(): void {
    this.hostIsConnected = false;
    window.removeEventListener('online', this.nudge);
    document.removeEventListener('visibilitychange', this.nudge);
    this.close();
  }

  /** The network came back or the tab became visible: skip the rest of the backoff. */
  private readonly nudge = (): void => {
    if (document.visibilityState === 'visible') this.retryNow();
  };

  private open(): void {
    if (this.current || this.token === null) return;
    const session = (this.options.createSession ?? createBrowserSession)(this.token, this.interest);
    this.current = session;
    this.unsubscribes.push(
      session.store.subscribe((state) => {
        this.devices = state;
        this.host.requestUpdate();
      }),
      session.connection.on('status', (state) => {
        this.connection = state;
        this.host.requestUpdate();
        if (state.status === 'unauthorized') {
          const reason = state.lastError ?? TOKEN_REFUSED;
          // Let the connection finish its own handling before the host tears the session down.
          queueMicrotask(() => this.options.onUnauthorized?.(reason));
        }
      }),
    );
    session.connection.start();
  }

  private close(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    if (!this.current) return;
    this.current.connection.stop();
    this.current.store.dispose();
    this.current = null;
  }
}
