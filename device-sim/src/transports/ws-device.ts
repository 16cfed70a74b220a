/**
 * A simulated device over the device WebSocket `/ws/device` [FP-3.2]:
 * credentials in `Authorization: Basic base64(id:token)`, a `welcome` frame
 * once authenticated, every frame a JSON object with `type`, and each frame
 * carrying a `mid` answered by `ack` (stored durably) or `error` (with
 * `ref` = that mid).
 */
import WebSocket from 'ws';
import {
  WS_CLOSE,
  type CommandMessage,
  type DesiredMessage,
  type ErrorMessage,
  type HubMessage,
} from '@iot-hub/protocol';
import { DeviceConnectionBase, type ConnectionOptions, type OutgoingKind } from './connection.js';
import { DeviceSimError, networkError } from './errors.js';

export interface WsDeviceOptions extends ConnectionOptions {
  /** ws://host:port/ws/device (see deviceWsUrl). */
  url: string;
}

/** The device socket URL of a hub's HTTP base URL. */
export function deviceWsUrl(hubUrl: string): string {
  const url = new URL(hubUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/$/, '')}/ws/device`;
  return url.toString();
}

interface Pending {
  resolve: () => void;
  reject: (err: DeviceSimError) => void;
}

/** Close codes after which reconnecting cannot help [FP-3.2]. */
const FATAL_CLOSE: ReadonlyMap<number, string> = new Map([
  [WS_CLOSE.unauthorized, 'unauthorized'],
  [WS_CLOSE.forbidden, 'forbidden'],
  [WS_CLOSE.conflict, 'replaced by another connection of the same device'],
]);

export class WsDevice extends DeviceConnectionBase {
  readonly transport = 'ws' as const;
  readonly #url: string;
  #socket: WebSocket | undefined;
  #nextMid = 1;
  readonly #pending = new Map<number, Pending>();

  constructor(options: WsDeviceOptions) {
    super(options);
    this.#url = options.url;
  }

  protected openLink(): Promise<void> {
    const socket = new WebSocket(this.#url, {
      headers: { Authorization: `Basic ${Buffer.from(`${this.deviceId}:${this.token}`).toString('base64')}` },
      handshakeTimeout: this.connectTimeoutMs,
      maxPayload: 1024 * 1024,
    });
    this.#socket = socket;

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: DeviceSimError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(welcomeTimer);
        socket.terminate();
        reject(error);
      };
      const welcomeTimer = setTimeout(() => {
        fail(new DeviceSimError('unreachable', `no welcome from ${this.#url} within ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);

      socket.on('unexpected-response', (_req, res) => {
        // The hub refused the upgrade: read its error body for the message.
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const detail = describeBody(Buffer.concat(chunks).toString('utf8'));
          const code = status === 401 ? 'unauthorized' : status === 403 || status === 409 ? 'rejected' : 'unreachable';
          fail(new DeviceSimError(code, `${this.#url} refused the device socket: HTTP ${status}${detail}`));
        });
        res.on('error', () => fail(new DeviceSimError('unreachable', `${this.#url} refused the device socket: HTTP ${res.statusCode}`)));
      });
      socket.on('error', (err) => fail(networkError(err, this.#url)));
      socket.on('close', (code, reasonBuffer) => {
        const reason = reasonBuffer.toString('utf8');
        const error = closeError(code, reason, this.#url);
        if (!settled) {
          fail(error);
          return;
        }
        if (this.#socket !== socket) return;
        this.#socket = undefined;
        this.#failPending(new DeviceSimError('connection_lost', `socket closed before ack (${code}${reason ? ` ${reason}` : ''})`));
        this.linkLost(error);
      });
      socket.on('message', (data, isBinary) => {
        const frame = parseFrame(data, isBinary);
        if (!frame) {
          this.emit('warning', 'ignored a frame that is not a JSON object');
          return;
        }
        if (!settled) {
          if (frame.type === 'welcome') {
            settled = true;
            clearTimeout(welcomeTimer);
            resolve();
          } else if (frame.type === 'error') {
            const error = frame as ErrorMessage;
            fail(new DeviceSimError(error.error === 'unauthorized' ? 'unauthorized' : 'rejected', `hub refused the device: ${error.error}: ${error.message}`));
          }
          return;
        }
        this.#onFrame(frame);
      });
    });
  }

  protected async closeLink(_graceful: boolean): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#failPending(new DeviceSimError('closed', 'device closed before the ack arrived'));
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    // On the socket, closing is the offline signal: presence follows the connection [FP-6].
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      else socket.close(WS_CLOSE.normal, 'device closing');
    });
  }

  protected deliver(kind: OutgoingKind, body: Record<string, unknown>): Promise<void> {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new DeviceSimError('not_connected', `device ${this.deviceId} is not connected`));
    }
    const mid = this.#nextMid++;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(mid, { resolve, reject });
      socket.send(JSON.stringify({ v: 1, type: kind, mid, ...body }), (err) => {
        if (err && this.#pending.delete(mid)) reject(new DeviceSimError('connection_lost', `${kind} not sent: ${err.message}`));
      });
    });
  }

  protected deliverRaw(_kind: OutgoingKind, payload: string): Promise<void> {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new DeviceSimError('not_connected', `device ${this.deviceId} is not connected`));
    }
    return new Promise<void>((resolve, reject) => {
      socket.send(payload, { binary: false }, (err) => {
        if (err) reject(new DeviceSimError('connection_lost', `raw frame not sent: ${err.message}`));
        else resolve();
      });
    });
  }

  protected breakLink(): void {
    // No close frame: to the hub this is a lost connection [FP-6].
    this.#socket?.terminate();
  }

  protected pauseReading(): void {
    this.#socket?.pause();
  }

  protected resumeReading(): void {
    this.#socket?.resume();
  }

  #onFrame(frame: HubMessage): void {
    switch (frame.type) {
      case 'ack':
        this.#settle(frame.mid, undefined);
        break;
      case 'error':
        if (frame.ref === undefined || !this.#settle(frame.ref, frame)) this.emit('hubError', frame);
        break;
      case 'command':
        this.emit('command', frame as CommandMessage);
        break;
      case 'desired':
        this.emit('desired', frame as DesiredMessage);
        break;
      case 'welcome':
      case 'pong':
        break;
      default:
        this.emit('warning', `ignored a frame of unknown type ${JSON.stringify((frame as { type: unknown }).type)}`);
    }
  }

  /** Resolves (or, with an error, rejects) the send with this mid; false when none waits. */
  #settle(mid: string | number, error: ErrorMessage | undefined): boolean {
    const key = typeof mid === 'number' ? mid : Number(mid);
    const pending = this.#pending.get(key);
    if (!pending) return false;
    this.#pending.delete(key);
    if (error) pending.reject(new DeviceSimError('hub_error', `hub refused the message: ${error.error}: ${error.message}`, error));
    else pending.resolve();
    return true;
  }

  #failPending(error: DeviceSimError): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

function parseFrame(data: WebSocket.RawData, isBinary: boolean): HubMessage | undefined {
  if (isBinary) return undefined;
  try {
    const value: unknown = JSON.parse(data.toString());
    if (typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string') {
      return value as HubMessage;
    }
  } catch {
    // fall through: not JSON
  }
  return undefined;
}

function closeError(code: number, reason: string, url: string): DeviceSimError {
  const text = `${url} closed the device socket (${code}${reason ? ` ${reason}` : ''})`;
  const fatal = FATAL_CLOSE.get(code);
  if (fatal === 'unauthorized') return new DeviceSimError('unauthorized', text);
  if (fatal) return new DeviceSimError('rejected', `${text}: ${fatal}`);
  return new DeviceSimError('connection_lost', text);
}

/** ": error: message" from an API error body, or its first 200 characters. */
function describeBody(body: string): string {
  if (!body) return '';
  try {
    const parsed = JSON.parse(body) as { error?: unknown; message?: unknown };
    if (typeof parsed.error === 'string') return `: ${parsed.error}${typeof parsed.message === 'string' ? `: ${parsed.message}` : ''}`;
  } catch {
    // not JSON: show it as text
  }
  return `: ${body.slice(0, 200)}`;
}
