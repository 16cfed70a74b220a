/**
 * The dashboard socket at /ws/dashboard: authenticated and origin-checked at
 * the HTTP upgrade, one request/response envelope with an echoed id, and
 * server pushes of only what each client subscribed to. Pushes are
 * serialised once per event and written once per socket per turn; a client
 * that reads too slowly gets only the newest telemetry per device (then an
 * `overflow` event telling it to resync), and is cut off past a hard cap, so
 * it never holds anyone else up ([G5]). See outbox.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  DASHBOARD_EVENT_KINDS,
  DASHBOARD_SUBPROTOCOL,
  DEFAULT_DASHBOARD_EVENT_KINDS,
  ProtocolError,
  WS_CLOSE,
  type DashboardEvent,
  type DashboardEventKind,
  type DashboardRequest,
  type DashboardResponse,
  type ErrorCode,
  type SubscribeResult,
} from '@iot-hub/protocol';
import type { Logger } from 'pino';
import { bearerToken } from '../auth/admin-token.js';
import { originAllowed, type OriginPolicy } from '../auth/http-auth.js';
import type { SocketCredential } from '../auth/socket-auth.js';
import { roleAtLeast, type Principal, type Role } from '../auth/roles.js';
import type { EventBus } from '../events/event-bus.js';
import type { Registry } from '../registry/registry.js';
import { refuseUpgrade } from '../net/upgrade-refusal.js';
import { toApiError } from '../api/api-error.js';
import { FanoutWriter, Outbox } from './outbox.js';
import { SubscriptionLimits } from './subscription-limits.js';
import { clip } from '../log-safe.js';

/** Above this many bytes sent and not yet read, telemetry for the client is coalesced (newest per device wins). */
const SOFT_BUFFER_BYTES = 1024 * 1024;
/** How often (in bytes written) a ping asks how far the client has read: 16 per soft bound. */
const PROBE_BYTES = 64 * 1024;
/** Above this the client is disconnected. */
const HARD_BUFFER_BYTES = 8 * 1024 * 1024;
const MAX_REQUEST_BYTES = 64 * 1024;
const HEARTBEAT_MS = 30_000;
/** (device, kind) frames kept at most for one lagging socket: the newest of 10,000 devices. */
const MAX_COALESCED = 10_000;
const DRAIN_POLL_MS = 50;
/** Sockets whose credential is checked again at once (see recheck). */
const RECHECK_SLICE = 32;

interface Subscriber {
  ws: WebSocket;
  /** Who opened the socket. Every op today only reads, which every role may do. */
  principal: Principal;
  /** Whether the credential that opened the socket still works (not logged out, expired, deleted). */
  stillValid: () => Promise<boolean>;
  /** Event kinds wanted for every device, including ones added later (`"devices": "*"`). */
  allDevices: Set<DashboardEventKind>;
  /** Event kinds wanted per named device. Subscriptions are (device, kind) pairs: subscribe adds, unsubscribe removes. */
  perDevice: Map<string, Set<DashboardEventKind>>;
  /** What waits to be written to it, and what was kept or dropped while it lagged. */
  outbox: Outbox;
  alive: boolean;
}

/** The role each socket op needs; all only read today. A new op that changes something must be listed with its role. */
const OP_ROLES: Readonly<Record<string, Role>> = { subscribe: 'viewer', unsubscribe: 'viewer', ping: 'viewer' };

export interface DashboardEndpointOptions {
  registry: Registry;
  events: EventBus;
  /**
   * Who the upgrade request is from: `token` from the Authorization header or
   * the `bearer.{token}` subprotocol, else the session cookie in `cookie`.
   * Rejects when the account store cannot be reached (refused with its API error, 503).
   */
  authenticate(token: string | null, cookie: string | undefined): Promise<SocketCredential | null>;
  /** The hub's own origin (scheme from TLS) and --allowed-origins. */
  origins: OriginPolicy;
  /** Devices one socket may subscribe to by id, and sockets one user may hold open. */
  maxSubscriptions: number;
  maxSocketsPerUser: number;
  /**
   * Called when the first socket comes to want telemetry (of any device) and
   * when the last one stops (unsubscribe or close): a cluster node listens to
   * other nodes' telemetry only meanwhile.
   */
  onTelemetryWanted?: (wanted: boolean) => void;
  log: Logger;
}

export class DashboardEndpoint {
  private readonly wss: WebSocketServer;
  private readonly subscribers = new Map<WebSocket, Subscriber>();
  private heartbeat: NodeJS.Timeout | null = null;
  readonly counters = { refusedUpgrades: 0, droppedEvents: 0, slowDisconnects: 0 };
  readonly limits: SubscriptionLimits;
  private readonly writer = new FanoutWriter(
    { softBytes: SOFT_BUFFER_BYTES, probeBytes: PROBE_BYTES, hardBytes: HARD_BUFFER_BYTES, maxCoalesced: MAX_COALESCED, drainPollMs: DRAIN_POLL_MS },
    {
      dropped: (count) => (this.counters.droppedEvents += count),
      tooSlow: (buffered) => {
        this.counters.slowDisconnects += 1;
        this.options.log.warn({ buffered }, 'dashboard socket too slow: disconnected');
      },
    },
  );

  constructor(private readonly options: DashboardEndpointOptions) {
    this.limits = new SubscriptionLimits({
      maxDevicesPerSocket: options.maxSubscriptions,
      maxSocketsPerUser: options.maxSocketsPerUser,
      // Every role sees every device today; a per-user view of the fleet would be checked here.
      visible: (deviceId) => options.registry.get(deviceId) !== undefined,
    });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_REQUEST_BYTES,
      handleProtocols: (protocols) => (protocols.has(DASHBOARD_SUBPROTOCOL) ? DASHBOARD_SUBPROTOCOL : false),
    });
  }

  get connectionCount(): number {
    return this.subscribers.size;
  }

  /** Whether some open socket subscribed this (device, kind) pair: asked before building costly events. */
  /**
   * Whether any socket subscribed to the raw message feed: kept up to date on
   * every (un)subscribe and close, so the core's per-message check costs one
   * boolean while nobody watches.
   */
  private messageWatched = false;
  /** Whether any socket subscribed to telemetry; onTelemetryWanted hears each change. */
  private telemetryWatched = false;

  private refreshMessageWatch(): void {
    this.messageWatched = this.anyWants('message');
    const telemetry = this.anyWants('telemetry');
    if (telemetry === this.telemetryWatched) return;
    this.telemetryWatched = telemetry;
    this.options.onTelemetryWanted?.(telemetry);
  }

  private anyWants(kind: DashboardEventKind): boolean {
    for (const sub of this.subscribers.values()) {
      if (sub.allDevices.has(kind)) return true;
      for (const kinds of sub.perDevice.values()) if (kinds.has(kind)) return true;
    }
    return false;
  }

  wants(deviceId: string, kind: DashboardEventKind): boolean {
    for (const sub of this.subscribers.values()) {
      if (sub.allDevices.has(kind) || sub.perDevice.get(deviceId)?.has(kind)) return true;
    }
    return false;
  }

  start(): void {
    const { events } = this.options;
    events.on(this, 'telemetry', (e) => this.push(e.deviceId, 'telemetry', { event: 'telemetry', ...e }));
    events.on(this, 'presence', (e) => this.push(e.deviceId, 'presence', { event: 'presence', ...e }));
    events.on(this, 'deviceAdded', (e) => this.push(e.device.id, 'device', { event: 'device', action: 'added', device: e.device }));
    events.on(this, 'deviceUpdated', (e) => this.push(e.device.id, 'device', { event: 'device', action: 'updated', device: e.device }));
    events.on(this, 'deviceRemoved', (e) => {
      this.push(e.deviceId, 'device', { event: 'device', action: 'removed', deviceId: e.deviceId });
      // Told, then forgotten: a deleted device holds no place in any socket's subscriptions.
      for (const sub of this.subscribers.values()) sub.perDevice.delete(e.deviceId);
      this.refreshMessageWatch();
    });
    events.on(this, 'command', (e) => this.push(e.command.deviceId, 'command', { event: 'command', command: e.command }));
    events.on(this, 'state', (e) => this.push(e.state.deviceId, 'state', { event: 'state', state: e.state }));
    events.on(this, 'alert', (e) => this.push(e.alert.deviceId, 'alert', { event: 'alert', alert: e.alert }));
    events.on(this, 'message', (e) => this.push(e.deviceId, 'message', { event: 'message', ...e }));
    events.interest(this, 'message', (deviceId) => this.messageWatched && this.wants(deviceId, 'message'));
    this.heartbeat = setInterval(() => {
      // Also the bound on a revocation whose bus message was lost in a cluster: one heartbeat.
      void this.recheck();
      for (const sub of this.subscribers.values()) {
        if (!sub.alive) {
          sub.ws.terminate();
          continue;
        }
        sub.alive = false;
        sub.ws.ping();
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  async stop(): Promise<void> {
    this.options.events.removeAllFor(this);
    this.writer.stop();
    for (const sub of this.subscribers.values()) this.writer.closed(sub.outbox);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const ws of this.wss.clients) ws.close(1001, 'hub shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    for (const ws of this.wss.clients) ws.terminate();
  }

  /** Resolves once the socket is upgraded or refused; never rejects. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // Origin first: a cross-site page rides the browser's cookie, so a valid session proves nothing ([G3]).
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, req.headers.host, this.options.origins)) {
      return this.refuse(socket, req, 403, 'forbidden', `origin ${clip(origin, 100)} is not allowed (see --allowed-origins)`);
    }
    const token = bearerToken(req.headers.authorization) ?? tokenFromProtocols(req.headers['sec-websocket-protocol']);
    let auth: SocketCredential | null;
    try {
      auth = await this.options.authenticate(token, req.headers.cookie);
    } catch (err) {
      const { status, body } = toApiError(err);
      if (status >= 500) this.options.log.error({ err }, 'dashboard socket: could not check its credential');
      return this.refuse(socket, req, status, body.error, body.message);
    }
    // Closed while its credential was looked up: nothing to upgrade, no place to take.
    if (socket.destroyed) return;
    if (auth === null) {
      return this.refuse(socket, req, 401, 'unauthorized', 'sign in, or send a valid token as the bearer.{token} subprotocol');
    }
    try {
      this.limits.admitSocket(auth.principal);
    } catch (err) {
      const e = err as ProtocolError;
      return this.refuse(socket, req, e.status, e.error, e.message);
    }
    // The place is taken before the upgrade; an upgrade that fails (bad handshake) never reaches accept().
    let accepted = false;
    socket.once('close', () => {
      if (!accepted) this.limits.releaseSocket(auth.principal);
    });
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      accepted = true;
      this.accept(ws, auth.principal, auth.stillValid);
    });
  }

  private refuse(socket: Duplex, req: IncomingMessage, status: number, error: ErrorCode, message: string): void {
    this.counters.refusedUpgrades += 1;
    this.options.log.warn({ remote: req.socket.remoteAddress, origin: req.headers.origin, status, why: message }, 'dashboard socket refused');
    refuseUpgrade(socket, status, error, message);
  }

  /**
   * Closes (4401) the sockets whose session or token no longer works: at
   * once after a logout or a deleted user or token (here, or on another node
   * of a cluster), and on every heartbeat for sessions that expired. Calls
   * while a pass runs are folded into one more pass after it, which sees
   * every revocation committed before it started.
   */
  recheck(): Promise<void> {
    if (this.rechecking) {
      this.recheckAgain = true;
      return this.rechecking;
    }
    this.rechecking = this.recheckUntilQuiet();
    return this.rechecking;
  }

  private rechecking: Promise<void> | null = null;
  private recheckAgain = false;

  private async recheckUntilQuiet(): Promise<void> {
    try {
      do {
        this.recheckAgain = false;
        await this.recheckOnce();
      } while (this.recheckAgain);
    } finally {
      this.rechecking = null;
    }
  }

  private async recheckOnce(): Promise<void> {
    const subs = [...this.subscribers.values()];
    // In slices: thousands of sockets must not take every store connection from API requests at once.
    for (let i = 0; i < subs.length; i += RECHECK_SLICE) {
      await Promise.all(subs.slice(i, i + RECHECK_SLICE).map((sub) => this.recheckOne(sub)));
    }
  }

  private async recheckOne(sub: Subscriber): Promise<void> {
    let valid: boolean;
    try {
      valid = await sub.stillValid();
    } catch (err) {
      // The store is unreachable: kept open (a revocation cannot have been committed meanwhile), checked again next heartbeat.
      this.options.log.warn({ err: (err as Error).message, actor: sub.principal.actor }, 'dashboard socket: could not recheck its credential');
      return;
    }
    if (valid || sub.ws.readyState !== sub.ws.OPEN) return;
    this.options.log.info({ actor: sub.principal.actor }, 'dashboard socket closed: its session or token ended');
    sub.ws.close(WS_CLOSE.unauthorized, 'session or token ended');
  }

  private accept(ws: WebSocket, principal: Principal, stillValid: () => Promise<boolean>): void {
    const sub: Subscriber = { ws, principal, stillValid, allDevices: new Set(), perDevice: new Map(), outbox: new Outbox(ws), alive: true };
    this.subscribers.set(ws, sub);
    ws.on('pong', (data: Buffer) => {
      sub.alive = true;
      this.writer.pong(sub.outbox, data);
    });
    ws.on('message', (data: RawData, isBinary: boolean) => this.onRequest(sub, data, isBinary));
    ws.on('close', () => {
      this.writer.closed(sub.outbox);
      this.subscribers.delete(ws);
      this.limits.releaseSocket(principal);
      this.refreshMessageWatch();
    });
    ws.on('error', (err) => this.options.log.debug({ err: err.message }, 'dashboard socket error'));
  }

  private onRequest(sub: Subscriber, data: RawData, isBinary: boolean): void {
    let id: number | string | null = null;
    try {
      if (isBinary) throw new ProtocolError('bad_request', 'send JSON text frames');
      let request: DashboardRequest;
      try {
        request = JSON.parse(data.toString()) as DashboardRequest;
      } catch {
        throw new ProtocolError('bad_json');
      }
      if (typeof request !== 'object' || request === null) throw new ProtocolError('bad_request', 'a request is a JSON object');
      if (typeof request.id === 'number' || typeof request.id === 'string') id = request.id;
      else throw new ProtocolError('bad_request', 'missing "id" (number or string)');
      this.reply(sub, { id, status: 'ok', data: this.execute(sub, request) });
    } catch (err) {
      const e = err instanceof ProtocolError ? err : new ProtocolError('internal_error');
      this.reply(sub, { id, status: 'error', error: e.error, message: e.message });
    }
  }

  private execute(sub: Subscriber, request: DashboardRequest): unknown {
    // Checked first: a non-string op (an array nested thousands deep) would overflow the stack when turned into a key.
    if (typeof request.op !== 'string') throw new ProtocolError('bad_request', '"op" must be a string: subscribe, unsubscribe or ping');
    const needed = Object.hasOwn(OP_ROLES, request.op) ? OP_ROLES[request.op] : undefined;
    if (needed !== undefined && !roleAtLeast(sub.principal.role, needed)) {
      throw new ProtocolError('forbidden', `${request.op} needs the ${needed} role (${sub.principal.actor} is ${sub.principal.role})`);
    }
    switch (request.op) {
      case 'subscribe': {
        const devices = parseDevices(request.devices);
        const kinds = parseKinds(request.events, DEFAULT_DASHBOARD_EVENT_KINDS);
        if (devices !== '*') this.limits.checkSubscribe(devices, sub.perDevice, sub.principal);
        if (devices === '*') for (const k of kinds) sub.allDevices.add(k);
        else {
          for (const d of devices) {
            let wanted = sub.perDevice.get(d);
            if (!wanted) sub.perDevice.set(d, (wanted = new Set()));
            for (const k of kinds) wanted.add(k);
          }
        }
        // The snapshot answers what was dropped or kept for these devices (see Outbox.resynced).
        this.writer.flush(sub.outbox);
        sub.outbox.resynced(devices, kinds);
        this.refreshMessageWatch();
        const { registry } = this.options;
        const result: SubscribeResult = { devices: [] };
        for (const entry of registry.all()) {
          if (devices === '*' || devices.includes(entry.record.id)) result.devices.push(registry.view(entry));
        }
        return result;
      }
      case 'unsubscribe': {
        const devices = parseDevices(request.devices);
        const kinds = parseKinds((request as { events?: unknown }).events);
        const drop = (wanted: Set<DashboardEventKind>) => {
          for (const k of kinds) wanted.delete(k);
        };
        if (devices === '*') {
          drop(sub.allDevices);
          for (const wanted of sub.perDevice.values()) drop(wanted);
        } else {
          for (const d of devices) {
            const wanted = sub.perDevice.get(d);
            if (wanted) drop(wanted);
            if (wanted?.size === 0) sub.perDevice.delete(d);
          }
        }
        this.refreshMessageWatch();
        return undefined;
      }
      case 'ping':
        return { ts: Date.now() };
      default:
        throw new ProtocolError('bad_request', `unknown op ${JSON.stringify(clip((request as { op: string }).op, 64))}: use subscribe, unsubscribe or ping`);
    }
  }

  private reply(sub: Subscriber, response: DashboardResponse): void {
    if (sub.ws.readyState !== sub.ws.OPEN) return;
    // Events pushed before the request was handled go out before its answer.
    this.writer.flush(sub.outbox);
    sub.ws.send(JSON.stringify(response));
  }

  /** Serialises an event once and queues the same frame for every client that asked for it. */
  /**
   * Cluster mode: events from other nodes may have been lost (a bus gap, a
   * Redis restart). Every socket hears `overflow` and takes a new snapshot,
   * as after falling behind.
   */
  resyncAll(): void {
    for (const sub of this.subscribers.values()) {
      sub.outbox.dropped += 1;
      this.writer.flush(sub.outbox);
    }
  }

  private push(deviceId: string, kind: DashboardEventKind, event: DashboardEvent): void {
    // Telemetry and raw messages may be coalesced for a lagging client; other kinds are rare and must not be lost.
    const coalesce = kind === 'telemetry' || kind === 'message' ? { kind, deviceId } : null;
    let frame = null;
    for (const sub of this.subscribers.values()) {
      if (!sub.allDevices.has(kind) && !sub.perDevice.get(deviceId)?.has(kind)) continue;
      if (sub.ws.readyState !== sub.ws.OPEN) continue;
      frame ??= this.writer.frame(event, coalesce);
      this.writer.enqueue(sub.outbox, frame);
    }
  }
}

/** The event kinds of a request: `absent` (every kind unless said) when it names none. */
function parseKinds(events: unknown, absent: readonly DashboardEventKind[] = DASHBOARD_EVENT_KINDS): readonly DashboardEventKind[] {
  if (events === undefined) return absent;
  if (!Array.isArray(events) || events.some((k) => !DASHBOARD_EVENT_KINDS.includes(k as DashboardEventKind))) {
    throw new ProtocolError('bad_request', `"events" must be a list of ${DASHBOARD_EVENT_KINDS.join(', ')}`);
  }
  return events as DashboardEventKind[];
}

function parseDevices(devices: unknown): string[] | '*' {
  if (devices === '*') return '*';
  if (Array.isArray(devices) && devices.every((d) => typeof d === 'string')) return devices as string[];
  throw new ProtocolError('bad_request', '"devices" must be "*" or a list of device ids');
}

/** Browsers cannot set headers on a WebSocket: the token rides as a `bearer.{token}` subprotocol. */
function tokenFromProtocols(header: string | undefined): string | null {
  if (!header) return null;
  for (const p of header.split(',')) {
    const value = p.trim();
    if (value.startsWith('bearer.')) return value.slice('bearer.'.length);
  }
  return null;
}
