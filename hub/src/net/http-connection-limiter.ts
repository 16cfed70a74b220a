/**
 * Caps the HTTP connections open at once, per client address and in total,
 * so slow or idle clients (slowloris) cannot take every file descriptor and
 * with them /healthz, the API and new device connections. A connection over
 * a cap is answered at once (plain HTTP: 429 per address, 503 in total;
 * HTTPS: closed before the handshake) and closed; refusals are counted and
 * logged at most once per interval. A connection upgraded to a WebSocket
 * leaves this count: the device and dashboard limits take it over.
 *
 * Connections are tracked by remote address and port (unique while open),
 * which an HTTPS connection shares with the TLS socket that carries its
 * requests. The maps hold only open connections: at most the total cap.
 */
import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { SampledLog } from '../sampled-log.js';
import { absorbSocketErrors } from './socket-errors.js';

export interface HttpConnectionLimits {
  /** Open HTTP connections at most, from all addresses. */
  maxTotal: number;
  /** Open HTTP connections at most from one address; 0 = no per-address cap. */
  maxPerIp: number;
}

export type HttpRefusal = 'per_ip' | 'total';

/** Time for the refusal to leave before the socket is destroyed. */
const REFUSAL_LINGER_MS = 1_000;

export class HttpConnectionLimiter {
  private readonly open = new Map<string, Socket>();
  private readonly perIp = new Map<string, number>();
  private readonly sampledLog: SampledLog;
  readonly counters: Record<HttpRefusal, number> = { per_ip: 0, total: 0 };
  /** Requests closed with 408 because their headers or body did not arrive in time (Node's timeouts). */
  timeouts = 0;

  constructor(
    private readonly limits: HttpConnectionLimits,
    log: Logger,
  ) {
    this.sampledLog = new SampledLog(log);
  }

  get size(): number {
    return this.open.size;
  }

  /**
   * Counts the server's connections from now on; `plainText` = refusals can
   * be answered in HTTP. First among the 'connection' listeners, so a refused
   * socket is ended before the HTTP parser takes it.
   */
  attach(server: Server, plainText: boolean): void {
    server.prependListener('connection', (socket: Socket) => this.admit(socket, plainText));
  }

  /**
   * Counts the server's request timeouts. Node reports them as 'clientError',
   * whose answer (408) the server's other listener (Fastify's) writes.
   */
  watchTimeouts(server: Server): void {
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code !== 'ERR_HTTP_REQUEST_TIMEOUT') return;
      this.timeouts += 1;
      this.sampledLog.warn('http-timeout', { remote: socket.remoteAddress }, 'HTTP request closed with 408: its headers did not arrive within --http-headers-timeout-ms (or the request within 30 s)');
    });
  }

  /** The connection was upgraded to a WebSocket: it no longer counts as HTTP. */
  handOver(socket: Duplex): void {
    const { remoteAddress, remotePort } = socket as Socket;
    this.release(`${remoteAddress}|${remotePort}`);
  }

  private admit(socket: Socket, plainText: boolean): void {
    absorbSocketErrors(socket);
    const ip = socket.remoteAddress ?? 'unknown';
    const held = this.perIp.get(ip) ?? 0;
    // The address's own cap first: it tells that client what it can fix.
    const refusal: HttpRefusal | null =
      this.limits.maxPerIp > 0 && held >= this.limits.maxPerIp ? 'per_ip' : this.open.size >= this.limits.maxTotal ? 'total' : null;
    if (refusal) return this.refuse(socket, ip, refusal, plainText);
    const key = `${ip}|${socket.remotePort}`;
    this.open.set(key, socket);
    this.perIp.set(ip, held + 1);
    socket.once('close', () => {
      if (this.open.get(key) === socket) this.release(key);
    });
  }

  private release(key: string): void {
    const socket = this.open.get(key);
    if (!socket) return;
    this.open.delete(key);
    const ip = key.slice(0, key.lastIndexOf('|'));
    const held = (this.perIp.get(ip) ?? 1) - 1;
    if (held <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, held);
  }

  private refuse(socket: Socket, ip: string, refusal: HttpRefusal, plainText: boolean): void {
    this.counters[refusal] += 1;
    this.sampledLog.warn(
      `http-${refusal}`,
      { remote: ip, limit: refusal === 'total' ? this.limits.maxTotal : this.limits.maxPerIp },
      refusal === 'total' ? 'HTTP connection refused: the hub is at --max-http-connections' : 'HTTP connection refused: this address is at --max-http-connections-per-ip',
    );
    if (!plainText) return void socket.destroy();
    const [status, message] =
      refusal === 'total'
        ? ['503 Service Unavailable', 'the hub has too many open HTTP connections: retry later']
        : ['429 Too Many Requests', 'too many open HTTP connections from this address: close some, retry later'];
    const body = JSON.stringify({ error: 'rate_limited', code: Number(status.slice(0, 3)), message });
    const timer = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    // Destroyed once the answer has left: nothing it sends is read, so no request of it is served.
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n${body}`, () =>
      socket.destroy(),
    );
  }
}
