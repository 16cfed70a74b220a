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
  WS_AUTH_TIMEOUT_MS,
  WS_CLOSE,
  decodeDeviceMessage,
  encodeHubMessage,
  type DeviceMessage,
  type HubMessage,
} from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { DeviceGateway } from '../../core/device-gateway.js';
import type { CloseReason, DeviceLink } from '../../core/device-link.js';
import type { DeviceSession } from '../../core/device-session.js';
import type { ConnectionGuard } from '../../limits/connection-guard.js';
import type { IngestGate } from '../../limits/ingest-gate.js';
import type { DeviceEntry } from '../../registry/registry.js';
import { refuseUpgrade } from '../../net/upgrade-refusal.js';
import { parseDeviceAuthorization } from './device-credentials.js';

/** Messages in flight per socket before the hub stops reading it (push-back). */
const MAX_IN_FLIGHT = 64;
const HEARTBEAT_MS = 30_000;
/** RFC 6455 7.4.1 policy violation: the device left too much of what it was sent unread. */
const CLOSE_NOT_READING = 1008;
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
};

export interface WsDeviceEndpointOptions {
  maxPayloadBytes: number;
  /** Unread outbound bytes a device socket may hold; past it the socket is closed with 1008. */
  maxOutboundBytes: number;
  gateway: DeviceGateway;
  log: Logger;
  /** Admission of new connections (cap, per-IP rate); absent = every upgrade is taken. */
  guard?: ConnectionGuard;
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
  }

  close(reason: CloseReason): void {
    this.ws.close(CLOSE_CODES[reason], reason);
  }
}

export class WsDeviceEndpoint {
  private readonly wss: WebSocketServer;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly alive = new WeakMap<WebSocket, boolean>();
  readonly counters = { refusedUpgrades: 0, oversizedFrames: 0, outboundOverflows: 0 };
  /** Device id of each authenticated socket, for logs. */
  private readonly deviceIds = new WeakMap<WebSocket, string>();
  /** Sockets closed for breaking the WebSocket protocol, by ws error code (WS_ERR_INVALID_UTF8 …). */
  readonly protocolErrors = new Map<string, number>();

  constructor(private readonly options: WsDeviceEndpointOptions) {
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
      this.options.log.warn({ deviceId: this.deviceIds.get(ws), bufferedBytes: ws.bufferedAmount, limit: this.options.maxOutboundBytes }, 'device is not reading what the hub sends: closed with 1008');
      ws.close(CLOSE_NOT_READING, 'not reading');
      return;
    }
    ws.send(encodeHubMessage(message));
  };

  start(): void {
    // Sockets that did not answer the previous ping are dead peers [FP-5].
    this.heartbeat = setInterval(() => {
      for (const ws of this.wss.clients) {
        if (this.alive.get(ws) === false) {
          ws.terminate();
          continue;
        }
        this.alive.set(ws, false);
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
      if (!entry) return this.refuse(socket, req, 'unknown device or wrong token');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, entry));
  }

  private refuse(socket: Duplex, req: IncomingMessage, why: string): void {
    this.counters.refusedUpgrades += 1;
    this.options.log.warn({ remote: req.socket.remoteAddress, why }, 'device WebSocket refused');
    refuseUpgrade(socket, 401, 'unauthorized', why);
  }

  private accept(ws: WebSocket, entry: DeviceEntry | null): void {
    const { log, gate } = this.options;
    this.alive.set(ws, true);
    ws.on('pong', () => this.alive.set(ws, true));
    let session: DeviceSession | null = null;
    /** Messages being handled, and messages waiting for their turn under the rate limit. */
    let inFlight = 0;
    let waiting = 0;
    let authTimer: NodeJS.Timeout | null = null;

    const begin = (e: DeviceEntry) => {
      this.deviceIds.set(ws, e.record.id);
      const opened = this.options.gateway.open(e, new WsDeviceLink(ws, this.sendFrame));
      session = opened;
      this.sendFrame(ws, { v: 1, type: 'welcome', id: e.record.id, ts: Date.now() });
      // After `welcome` a device takes commands and desired state [FP-4.4].
      opened.markReady(['commands', 'desired']);
    };

    if (entry) begin(entry);
    else {
      authTimer = setTimeout(() => {
        this.sendFrame(ws, { v: 1, type: 'error', code: 408, error: 'auth_timeout', message: 'send {"type":"auth","id":...,"token":...} first' });
        ws.close(WS_CLOSE.authTimeout, 'auth timeout');
      }, WS_AUTH_TIMEOUT_MS);
    }

    const refuseFrame = (error: ProtocolError, ref?: string | number) => {
      const frame: HubMessage = { v: 1, type: 'error', code: error.status, error: error.error, message: error.message };
      if (ref !== undefined) frame.ref = ref;
      this.sendFrame(ws, frame);
    };

    ws.on('message', (data: RawData, isBinary: boolean) => {
      // The hub is behind: this frame is handled, but the socket is read no further until the gate
      // opens (frames ws has already read may still arrive meanwhile).
      if (gate && !gate.admit(resumeIfDue)) ws.pause();
      let message: DeviceMessage;
      try {
        if (isBinary) throw new ProtocolError('invalid_message', 'binary frames are not accepted: send JSON text frames');
        message = decodeDeviceMessage(rawToString(data));
      } catch (err) {
        if (session) session.fail(err);
        else {
          refuseFrame(err as ProtocolError);
          ws.close(WS_CLOSE.unauthorized, 'authenticate first');
        }
        return;
      }
      if (!session) {
        if (message.type !== 'auth') {
          refuseFrame(new ProtocolError('unauthorized', 'the first frame must be {"type":"auth","id":...,"token":...}'), message.mid);
          ws.close(WS_CLOSE.unauthorized, 'unauthorized');
          return;
        }
        const e = this.options.gateway.authenticate(message.id, message.token);
        if (authTimer) clearTimeout(authTimer);
        if (!e) {
          this.counters.refusedUpgrades += 1;
          log.warn({ deviceId: message.id }, 'device WebSocket auth frame refused');
          refuseFrame(new ProtocolError('unauthorized'), message.mid);
          ws.close(WS_CLOSE.unauthorized, 'unauthorized');
          return;
        }
        begin(e);
        return;
      }
      const s: DeviceSession = session;
      // Rate limit: a message that gets an answer (ack or pong) waits for its turn with the socket
      // paused (push-back); one without `mid` over the rate is dropped [FP-8 rate_limited].
      waiting += 1;
      const admitted = s.admit(message.mid !== undefined || message.type === 'ping', () => {
        waiting -= 1;
        handle(s, message);
      });
      if (!admitted) waiting -= 1;
      else if (waiting > 0) ws.pause();
    });

    const handle = (s: DeviceSession, message: DeviceMessage) => {
      inFlight += 1;
      gate?.begin();
      if (inFlight >= MAX_IN_FLIGHT) ws.pause();
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
          inFlight -= 1;
          gate?.end();
          resumeIfDue();
        });
      resumeIfDue();
    };

    // Called by the gate too, once the hub has caught up: it resumes only what this socket's own limits allow.
    const resumeIfDue = (): void => {
      if (inFlight < MAX_IN_FLIGHT && waiting === 0 && ws.isPaused && (!gate || gate.admit(resumeIfDue))) ws.resume();
    };

    // ws emits each protocol violation once, with a stable code, and closes with its status.
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.counters.oversizedFrames += 1;
        log.warn({ deviceId: session?.deviceId, limit: this.options.maxPayloadBytes }, 'device frame over the size limit: closed with 1009');
      } else if (err.code?.startsWith('WS_ERR_')) {
        this.protocolErrors.set(err.code, (this.protocolErrors.get(err.code) ?? 0) + 1);
        log.warn({ deviceId: session?.deviceId, code: err.code, err: err.message }, 'device WebSocket protocol error: closed');
      } else log.debug({ deviceId: session?.deviceId, err: err.message }, 'device WebSocket error');
    });

    ws.on('close', (code: number) => {
      if (authTimer) clearTimeout(authTimer);
      gate?.forget(resumeIfDue);
      // 1000/1001 from the device is an orderly goodbye; anything else is a lost connection.
      session?.end({ clean: code === WS_CLOSE.normal || code === WS_CLOSE.goingAway });
    });
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
