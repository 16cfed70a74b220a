/**
 * The device WebSocket adapter at /ws/device [FP-3.2]: one socket per device,
 * JSON text frames, credentials in the upgrade or as the first frame. Like
 * the MQTT adapter it only turns frames into protocol messages and back.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  ProtocolError,
  WS_CLOSE,
  decodeDeviceMessage,
  encodeHubMessage,
  type DeviceMessage,
  type HubMessage,
} from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { DeviceGateway } from '../../core/device-gateway.js';
import type { CloseReason, DeviceLink } from '../../core/device-link.js';
import { CONTROL_CHANNELS } from '../../core/device-inbox.js';
import type { DeviceSession } from '../../core/device-session.js';
import type { ConnectionGuard } from '../../limits/connection-guard.js';
import type { PendingConnection, UnauthenticatedClose, UnauthenticatedConnections } from '../../limits/unauthenticated-connections.js';
import { SampledLog } from '../../sampled-log.js';
import { answerDeadline, awaitingAnswer, type IngestGate } from '../../limits/ingest-gate.js';
import type { DeviceEntry } from '../../registry/registry.js';
import { refuseUpgrade } from '../../net/upgrade-refusal.js';
import { parseDeviceAuthorization } from './device-credentials.js';

/** Messages in flight per socket before the hub stops reading it (push-back). */
const MAX_IN_FLIGHT = 64;
const HEARTBEAT_MS = 30_000;
/** RFC 6455 7.4.1 policy violation: the device left too much of what it was sent unread. */
const CLOSE_NOT_READING = 1008;
/** RFC 6455 7.4.1 "try again later": the hub cannot take this device now (connection limits). */
const CLOSE_TRY_AGAIN_LATER = 1013;
/** Frames a device may send before `welcome` while the cluster claims it; a well-behaved device sends none. */
const MAX_FRAMES_WHILE_CLAIMING = 16;
/**
 * Fragments of one message at most (close 1008). A device has no reason to
 * fragment much; without a cap, a stream of tiny fragments costs a buffer
 * object each until the message completes. maxPayload bounds the bytes of
 * the assembled message across all its fragments (close 1009).
 */
const MAX_FRAGMENTS = 1024;

const CLOSE_CODES: Record<CloseReason, number> = {
  replaced: WS_CLOSE.conflict,
  'heartbeat-timeout': WS_CLOSE.goingAway,
  'too-many-errors': WS_CLOSE.tooManyErrors,
  deleted: WS_CLOSE.unauthorized,
  shutdown: WS_CLOSE.goingAway,
  // "Reconnect with backoff" [FP-3.2]: what the runner wants the device to do.
  probe: WS_CLOSE.goingAway,
};

export interface WsDeviceEndpointOptions {
  maxPayloadBytes: number;
  /** Unread outbound bytes a device socket may hold; past it the socket is closed with 1008. */
  maxOutboundBytes: number;
  gateway: DeviceGateway;
  log: Logger;
  /** Admission of new connections (cap, per-IP rate); absent = every upgrade is taken. */
  guard?: ConnectionGuard;
  /** Sockets that have not sent `auth` yet: their deadline and caps, apart from the device budget. */
  unauthenticated: UnauthenticatedConnections;
  /** Global push-back: device sockets are paused while the hub is behind; absent = per-socket push-back only. */
  gate?: IngestGate;
}

type SendFrame = (ws: WebSocket, message: HubMessage) => void;

class WsDeviceLink implements DeviceLink {
  readonly transport = 'ws' as const;
  constructor(
    private readonly ws: WebSocket,
    private readonly sendFrame: SendFrame,
  ) {}

  send(message: HubMessage): void {
    this.sendFrame(this.ws, message);
    if (message.type === 'command') connectionOf(this.ws)?.expectAnswer();
  }

  close(reason: CloseReason): void {
    this.ws.close(CLOSE_CODES[reason], reason);
  }
}

export class WsDeviceEndpoint {
  private readonly wss: WebSocketServer;
  private heartbeat: NodeJS.Timeout | null = null;
  readonly counters = { refusedUpgrades: 0, oversizedFrames: 0, outboundOverflows: 0 };
  /** Sockets closed for breaking the WebSocket protocol, by ws error code (WS_ERR_INVALID_UTF8 …). */
  readonly protocolErrors = new Map<string, number>();

  /** Shared by every connection of this endpoint. */
  private readonly context: EndpointContext;

  constructor(private readonly options: WsDeviceEndpointOptions) {
    this.context = { options, counters: this.counters, protocolErrors: this.protocolErrors, sendFrame: this.sendFrame, sampledLog: new SampledLog(options.log) };
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      maxFragments: MAX_FRAGMENTS,
      // No compression: a small compressed frame could inflate to far more than it cost to send,
      // and device messages are small. A frame with RSV1 set is then a protocol error (1002).
      perMessageDeflate: false,
      clientTracking: true,
    });
  }

  get connectionCount(): number {
    return this.wss.clients.size;
  }

  /**
   * Every hub → device frame goes through here. A device that does not read
   * what it is sent would make the hub buffer without bound: past the cap
   * nothing more is queued and the socket is closed, once (CLOSING sockets
   * take no frames).
   */
  private readonly sendFrame: SendFrame = (ws, message) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.options.maxOutboundBytes) {
      this.counters.outboundOverflows += 1;
      this.options.log.warn({ deviceId: connectionOf(ws)?.deviceId, bufferedBytes: ws.bufferedAmount, limit: this.options.maxOutboundBytes }, 'device is not reading what the hub sends: closed with 1008');
      ws.close(CLOSE_NOT_READING, 'not reading');
      return;
    }
    ws.send(encodeHubMessage(message));
  };

  start(): void {
    // Sockets that did not answer the previous ping are dead peers [FP-5].
    this.heartbeat = setInterval(() => {
      for (const ws of this.wss.clients) {
        const connection = connectionOf(ws);
        if (!connection) continue;
        if (!connection.alive) {
          ws.terminate();
          continue;
        }
        connection.alive = false;
        ws.ping();
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const ws of this.wss.clients) ws.close(WS_CLOSE.goingAway, 'shutdown');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    for (const ws of this.wss.clients) ws.terminate();
  }

  /** Called by the HTTP server for upgrades to /ws/device. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refusal = this.options.guard?.admit(req.socket.remoteAddress, 'ws');
    if (refusal) {
      this.options.log.warn({ remote: req.socket.remoteAddress, why: refusal }, 'device WebSocket refused');
      return refusal === 'max-connections'
        ? refuseUpgrade(socket, 503, 'rate_limited', 'the hub is at its connection limit: retry later with backoff')
        : refuseUpgrade(socket, 429, 'rate_limited', 'too many new connections from this address: retry later with backoff');
    }
    const credentials = parseDeviceAuthorization(req.headers.authorization);
    let entry: DeviceEntry | null = null;
    if (credentials === 'malformed') return this.refuse(socket, req, 'malformed Authorization header: use Basic base64(id:token)');
    if (credentials) {
      entry = this.options.gateway.authenticate(credentials.id, credentials.token);
      if (!entry) {
        return this.options.gateway.authenticateAfterRefresh(credentials.id, credentials.token, (later) => {
          if (socket.destroyed) return;
          if (!later) return this.refuse(socket, req, 'unknown device or wrong token');
          this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, later, null, req.socket.remoteAddress));
        });
      }
    }
    if (entry) return this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, entry, null, req.socket.remoteAddress));
    // No credentials in the upgrade: the socket waits for its `auth` frame among the unauthenticated.
    let connection: WsDeviceConnection | null = null;
    const pending = this.options.unauthenticated.enter(req.socket.remoteAddress, 'ws', (why) => (connection ? connection.expire(why) : socket.destroy()));
    if (!pending) {
      this.context.sampledLog.warn('unauthenticated-per-ip', { remote: req.socket.remoteAddress }, 'device WebSocket refused: 429, this address holds too many sockets that have not authenticated (--max-unauthenticated-per-ip)');
      return refuseUpgrade(socket, 429, 'rate_limited', 'too many connections from this address have not authenticated: authenticate at once, retry later with backoff');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => (connection = this.accept(ws, null, pending, req.socket.remoteAddress)));
  }

  private refuse(socket: Duplex, req: IncomingMessage, why: string): void {
    this.counters.refusedUpgrades += 1;
    this.options.log.warn({ remote: req.socket.remoteAddress, why }, 'device WebSocket refused');
    refuseUpgrade(socket, 401, 'unauthorized', why);
  }

  private accept(ws: WebSocket, entry: DeviceEntry | null, pending: PendingConnection | null, remote: string | undefined): WsDeviceConnection {
    const connection = new WsDeviceConnection(this.context, ws, pending, remote);
    (ws as ConnectedSocket)[CONNECTION] = connection;
    ws.on('pong', onPong);
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
    if (entry) connection.begin(entry);
    return connection;
  }
}

/** What a connection needs of its endpoint: one object, shared by every connection. */
interface EndpointContext {
  options: WsDeviceEndpointOptions;
  counters: WsDeviceEndpoint['counters'];
  protocolErrors: Map<string, number>;
  sendFrame: SendFrame;
  /** Refusals an outsider can repeat at will are logged at most once per interval per kind. */
  sampledLog: SampledLog;
}

const CONNECTION = Symbol('wsDeviceConnection');
type ConnectedSocket = WebSocket & { [CONNECTION]: WsDeviceConnection };

/*
 * One listener function of each kind for every socket (ws calls them with
 * the socket as `this`), rather than closures per socket: at 10,000
 * connections those came to about a kilobyte each.
 */
/** Set in accept(), before any listener can run; undefined only for a socket the endpoint did not accept. */
function connectionOf(ws: WebSocket): WsDeviceConnection | undefined {
  return (ws as Partial<ConnectedSocket>)[CONNECTION];
}
function onPong(this: WebSocket): void {
  connectionOf(this)?.pong();
}
function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  connectionOf(this)?.message(data, isBinary);
}
function onError(this: WebSocket, err: Error & { code?: string }): void {
  connectionOf(this)?.error(err);
}
function onClose(this: WebSocket, code: number): void {
  connectionOf(this)?.closed(code);
}

/** One device socket: authentication, push-back and the hand-over of its messages to its session. */
class WsDeviceConnection {
  /** Answered the last heartbeat ping (or has not been pinged yet). */
  alive = true;
  /** Once authenticated, for logs. */
  deviceId: string | null = null;
  private session: DeviceSession | null = null;
  /** Messages being handled, and messages waiting for their turn under the rate limit. */
  private inFlight = 0;
  private waiting = 0;
  /** Given to the gate when this socket is held back; made the first time (an idle device never needs one). */
  private resumeCallback: (() => void) | null = null;
  /** Until when this socket is read without asking the gate (an answer is expected; answerDeadline()). */
  private answerDueBy = 0;
  /** Frames that came while the device's claim was being stored (cluster mode), in order; null otherwise. */
  private claiming: Array<[RawData, boolean]> | null = null;

  constructor(
    private readonly ctx: EndpointContext,
    private readonly ws: WebSocket,
    /** Its place among the unauthenticated until `auth` (null: authenticated in the upgrade). */
    private pending: PendingConnection | null,
    /** For logs about an unauthenticated socket: its address, not the id it claims. */
    private readonly remote: string | undefined,
  ) {}

  /** The auth frame's token holds: the device budget, then the session. */
  private authenticated(e: DeviceEntry, mid: string | number | undefined): void {
    const { ctx, ws } = this;
    // The device budget counts authenticated devices only; one replacing its own connection takes no new place.
    if (ctx.options.guard?.admitAuthenticated('ws', ctx.options.gateway.session(e.record.id) !== undefined)) {
      this.claiming = null;
      ctx.options.log.warn({ deviceId: e.record.id }, 'device WebSocket refused at auth: the hub is at --max-connections devices (1013)');
      this.refuseFrame(new ProtocolError('rate_limited', 'the hub is at its connection limit: retry later with backoff'), mid);
      ws.close(CLOSE_TRY_AGAIN_LATER, 'at the connection limit');
      return;
    }
    this.begin(e);
  }

  begin(e: DeviceEntry): void {
    const { ctx, ws } = this;
    this.deviceId = e.record.id;
    this.claiming ??= [];
    ctx.options.gateway.admit(
      e,
      'ws',
      () => ws.readyState === ws.OPEN,
      (epoch) => {
        const opened = ctx.options.gateway.open(e, new WsDeviceLink(ws, ctx.sendFrame), epoch);
        this.session = opened;
        ctx.sendFrame(ws, { v: 1, type: 'welcome', id: e.record.id, ts: Date.now() });
        // After `welcome` a device takes desired state and commands, in that order [FP-3.2].
        opened.markReady(CONTROL_CHANNELS);
        const early = this.claiming ?? [];
        this.claiming = null;
        for (const [data, isBinary] of early) this.message(data, isBinary);
      },
      (err) => {
        this.claiming = null;
        ctx.options.log.warn({ err, deviceId: e.record.id }, 'claiming the device for this node failed');
        ws.close(CLOSE_TRY_AGAIN_LATER, 'cluster store unreachable');
      },
    );
  }

  /** No `auth` within --auth-timeout-ms [FP-3.2], or the oldest of too many sockets without it. */
  expire(why: UnauthenticatedClose): void {
    const remote = this.pending?.ip;
    this.pending = null;
    const { ctx, ws } = this;
    if (why === 'timeout') {
      ctx.sampledLog.warn('unauthenticated-timeout', { remote }, 'device WebSocket closed: no auth frame within --auth-timeout-ms (4408)');
      this.refuseFrame(new ProtocolError('auth_timeout', 'send {"type":"auth","id":...,"token":...} first'));
      ws.close(WS_CLOSE.authTimeout, 'auth timeout');
      return;
    }
    ctx.sampledLog.warn('unauthenticated-evicted', { remote }, 'device WebSocket closed: the oldest of --max-unauthenticated sockets without auth (1013)');
    this.refuseFrame(new ProtocolError('rate_limited', 'too many connections are waiting to authenticate: authenticate right after the upgrade'));
    ws.close(CLOSE_TRY_AGAIN_LATER, 'authenticate at once');
  }

  /** Authenticated, refused or closed: it no longer holds a place among the unauthenticated. */
  private leavePending(): void {
    if (this.pending) this.ctx.options.unauthenticated.leave(this.pending);
    this.pending = null;
  }

  pong(): void {
    this.alive = true;
  }

  private refuseFrame(error: ProtocolError, ref?: string | number): void {
    const frame: HubMessage = { v: 1, type: 'error', code: error.status, error: error.error, message: error.message };
    if (ref !== undefined) frame.ref = ref;
    this.ctx.sendFrame(this.ws, frame);
  }

  message(data: RawData, isBinary: boolean): void {
    const { ctx, ws } = this;
    if (this.claiming) {
      // Sent before `welcome`, while the cluster claims the device: handled in order once it is ours.
      if (this.claiming.length >= MAX_FRAMES_WHILE_CLAIMING) return ws.close(WS_CLOSE.tooManyErrors, 'wait for welcome');
      this.claiming.push([data, isBinary]);
      return;
    }
    // The hub is behind: this frame is handled, but the socket is read no further until the gate
    // opens (frames ws has already read may still arrive meanwhile).
    if (!this.gateAdmits()) ws.pause();
    let message: DeviceMessage;
    try {
      if (isBinary) throw new ProtocolError('invalid_message', 'binary frames are not accepted: send JSON text frames');
      message = decodeDeviceMessage(rawToString(data));
    } catch (err) {
      if (this.session) this.session.fail(err);
      else {
        this.refuseFrame(err as ProtocolError);
        ws.close(WS_CLOSE.unauthorized, 'authenticate first');
      }
      return;
    }
    if (!this.session) {
      if (message.type !== 'auth') {
        this.refuseFrame(new ProtocolError('unauthorized', 'the first frame must be {"type":"auth","id":...,"token":...}'), message.mid);
        ws.close(WS_CLOSE.unauthorized, 'unauthorized');
        return;
      }
      const e = ctx.options.gateway.authenticate(message.id, message.token);
      this.leavePending();
      if (e) return this.authenticated(e, message.mid);
      // Frames that come while the shared registry is read again wait, in order (see begin()).
      this.claiming = [];
      ctx.options.gateway.authenticateAfterRefresh(message.id, message.token, (later) => {
        if (ws.readyState !== ws.OPEN) return;
        if (later) return this.authenticated(later, message.mid);
        this.claiming = null;
        ctx.counters.refusedUpgrades += 1;
        // Keyed by address: the id is only claimed, and a flood of made-up ids must share one log budget.
        ctx.options.log.warn({ remote: this.remote, claimedId: message.id }, 'device WebSocket auth frame refused');
        this.refuseFrame(new ProtocolError('unauthorized'), message.mid);
        ws.close(WS_CLOSE.unauthorized, 'unauthorized');
      });
      return;
    }
    const s: DeviceSession = this.session;
    // Rate limit: a message that gets an answer (ack or pong) waits for its turn with the socket
    // paused (push-back); one without `mid` over the rate is dropped [FP-8 rate_limited].
    this.waiting += 1;
    const admitted = s.admit(message.mid !== undefined || message.type === 'ping', () => {
      this.waiting -= 1;
      this.handle(s, message);
    });
    if (!admitted) this.waiting -= 1;
    else if (this.waiting > 0) ws.pause();
  }

  private handle(s: DeviceSession, message: DeviceMessage): void {
    const gate = this.ctx.options.gate;
    this.inFlight += 1;
    gate?.begin();
    if (this.inFlight >= MAX_IN_FLIGHT) this.ws.pause();
    s.handle(message)
      .then(
        () => {
          // Through the session's link, so the inspector's feed sees pongs and acks too.
          if (message.type === 'ping') s.link.send({ v: 1, type: 'pong', ts: Date.now() });
          else if (message.mid !== undefined) s.link.send({ v: 1, type: 'ack', mid: message.mid });
        },
        (err: unknown) => s.fail(err, message.mid === undefined ? {} : { ref: message.mid }),
      )
      .finally(() => {
        this.inFlight -= 1;
        gate?.end();
        this.resumeIfDue();
      });
    this.resumeIfDue();
  }

  /**
   * The hub sent this device a command: read its answer
   * without waiting at the gate for ANSWER_PRIORITY_MS, and at once if the
   * socket is held back now.
   */
  expectAnswer(): void {
    this.answerDueBy = answerDeadline();
    if (this.resumeCallback) this.ctx.options.gate?.forget(this.resumeCallback);
    this.resumeIfDue();
  }

  /** No gate, or it is open, or an answer is expected, or it takes this socket's callback for when it opens. */
  private gateAdmits(): boolean {
    const gate = this.ctx.options.gate;
    if (!gate || gate.open) return true;
    if (awaitingAnswer(this.answerDueBy)) return true;
    this.resumeCallback ??= () => this.resumeIfDue();
    return gate.admit(this.resumeCallback);
  }

  // Called by the gate too, once the hub has caught up: it resumes only what this socket's own limits allow.
  private resumeIfDue(): void {
    if (this.inFlight < MAX_IN_FLIGHT && this.waiting === 0 && this.ws.isPaused && this.gateAdmits()) this.ws.resume();
  }

  // ws emits each protocol violation once, with a stable code, and closes with its status.
  error(err: Error & { code?: string }): void {
    const { ctx, session } = this;
    const { log } = ctx.options;
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      ctx.counters.oversizedFrames += 1;
      log.warn({ deviceId: session?.deviceId, limit: ctx.options.maxPayloadBytes }, 'device frame over the size limit: closed with 1009');
    } else if (err.code?.startsWith('WS_ERR_')) {
      ctx.protocolErrors.set(err.code, (ctx.protocolErrors.get(err.code) ?? 0) + 1);
      log.warn({ deviceId: session?.deviceId, code: err.code, err: err.message }, 'device WebSocket protocol error: closed');
    } else log.debug({ deviceId: session?.deviceId, err: err.message }, 'device WebSocket error');
  }

  closed(code: number): void {
    this.leavePending();
    if (this.resumeCallback) this.ctx.options.gate?.forget(this.resumeCallback);
    // 1000/1001 from the device is an orderly goodbye; anything else is a lost connection.
    this.session?.end({ clean: code === WS_CLOSE.normal || code === WS_CLOSE.goingAway });
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
