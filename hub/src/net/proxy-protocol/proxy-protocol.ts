/**
 * PROXY protocol on the hub's listeners (--proxy-protocol-from): behind a
 * load balancer every connection would come from the balancer's address, so
 * per-IP limits, logs and audit would see one client. A trusted balancer puts
 * a PROXY header (proxy-header.ts) before the client's first byte; it is read
 * here before aedes, TLS or the HTTP parser see anything, and the socket's
 * remoteAddress/remotePort become the client's, for every part after it.
 *
 * - From a trusted address the header is required: without one, or with a
 *   malformed, oversized or slow one, the connection is closed, counted and
 *   logged (at most once per interval per kind).
 * - From any other address no header is read: one sent anyway is just bad
 *   MQTT or HTTP, so nobody else can claim an address.
 * - LOCAL (the balancer's health checks) keeps the balancer's address.
 *
 * Sockets waiting for their header are few and short-lived (a balancer sends
 * it at once), bounded by MAX_WAITING and the header timeout, and dropped by
 * stop().
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { SampledLog } from '../../sampled-log.js';
import { absorbSocketErrors } from '../socket-errors.js';
import { parseProxyHeader, type ProxyHeaderFault, type ProxySource } from './proxy-header.js';
import { TrustedSources } from './trusted-sources.js';

/** Which listener a connection came to, for the log lines. */
export type ProxiedListener = 'mqtt' | 'mqtts' | 'http';
/** Why a trusted connection was closed before its header was taken. */
export type ProxyRefusal = ProxyHeaderFault | 'timeout' | 'busy';

/** A balancer sends its header with the connection; this is generous. */
export const PROXY_HEADER_TIMEOUT_MS = 5_000;
/** Trusted connections waiting for their header at once, at most; more are closed (busy). */
const MAX_WAITING = 1_024;
const EMPTY: Buffer = Buffer.alloc(0);

export interface ProxyProtocolOptions {
  /** Addresses and CIDR ranges of the balancers (checked by checkTrustedSource). */
  trusted: readonly string[];
  log: Logger;
  headerTimeoutMs?: number;
}

/** The client address each socket was given, so a TLS socket built on it can take it too. */
const sourceOf = new WeakMap<Socket, ProxySource>();

function adopt(socket: Socket, source: ProxySource): void {
  sourceOf.set(socket, source);
  // Own properties in front of net.Socket's getters: every reader of the socket (limits, logs, Fastify's req.ip) sees the client.
  Object.defineProperties(socket, {
    remoteAddress: { value: source.address, configurable: true },
    remotePort: { value: source.port, configurable: true },
    remoteFamily: { value: source.family, configurable: true },
  });
}

/**
 * A TLS socket asks its own handle for the peer, which is the balancer: it
 * takes the address the header gave the TCP socket it wraps. Node keeps that
 * socket as `_parent` (not public API; the MQTTS and HTTPS tests through a
 * header would fail if it went away).
 */
export function inheritProxiedAddress(tlsSocket: Socket): void {
  const parent = (tlsSocket as Socket & { _parent?: Socket | null })._parent;
  const source = parent ? sourceOf.get(parent) : undefined;
  if (source) adopt(tlsSocket, source);
}

export class ProxyProtocol {
  private readonly trusted: TrustedSources;
  private readonly sampledLog: SampledLog;
  private readonly headerTimeoutMs: number;
  /** Trusted sockets whose header has not arrived yet, with the function that stops waiting. */
  private readonly waiting = new Map<Socket, () => void>();
  /** For /metrics. */
  readonly counters: { accepted: Record<'proxy' | 'local', number>; refused: Record<ProxyRefusal, number> } = {
    accepted: { proxy: 0, local: 0 },
    refused: { missing: 0, malformed: 0, oversized: 0, timeout: 0, busy: 0 },
  };

  constructor(options: ProxyProtocolOptions) {
    this.trusted = new TrustedSources(options.trusted);
    this.sampledLog = new SampledLog(options.log);
    this.headerTimeoutMs = options.headerTimeoutMs ?? PROXY_HEADER_TIMEOUT_MS;
  }

  /** Trusted connections still waiting for their header. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /**
   * Hands `socket` to `next` once it is known whom it carries: at once from
   * an untrusted address, after the header from a trusted one (never, if
   * the header is refused: the socket is destroyed).
   */
  accept(socket: Socket, listener: ProxiedListener, next: (socket: Socket) => void): void {
    absorbSocketErrors(socket);
    if (!this.trusted.has(socket.remoteAddress)) return next(socket);
    if (this.waiting.size >= MAX_WAITING) return this.refuse(socket, listener, 'busy', `${MAX_WAITING} connections are already waiting for their header`);
    this.readHeader(socket, listener, next);
  }

  /** Closes the connections still waiting for their header. */
  stop(): void {
    for (const [socket, stopWaiting] of [...this.waiting]) {
      stopWaiting();
      socket.destroy();
    }
  }

  private readHeader(socket: Socket, listener: ProxiedListener, next: (socket: Socket) => void): void {
    let received: Buffer = EMPTY;
    const stopWaiting = (): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('close', stopWaiting);
      this.waiting.delete(socket);
    };
    const timer = setTimeout(() => {
      stopWaiting();
      this.refuse(socket, listener, 'timeout', `no complete header within ${this.headerTimeoutMs} ms (${received.length} bytes came)`);
    }, this.headerTimeoutMs);
    // Paused-mode reads, as aedes does: nothing flows anywhere until the header is taken.
    const onReadable = (): void => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        const header = parseProxyHeader(received);
        if (header.status === 'incomplete') continue;
        stopWaiting();
        if (header.status === 'invalid') return this.refuse(socket, listener, header.fault, header.detail);
        // What came after the header is the client's first bytes: back in front of the stream for its reader.
        if (received.length > header.length) socket.unshift(received.subarray(header.length));
        if (header.source) adopt(socket, header.source);
        this.counters.accepted[header.command] += 1;
        return next(socket);
      }
    };
    this.waiting.set(socket, stopWaiting);
    socket.on('readable', onReadable);
    socket.on('close', stopWaiting);
  }

  private refuse(socket: Socket, listener: ProxiedListener, why: ProxyRefusal, detail: string): void {
    this.counters.refused[why] += 1;
    this.sampledLog.warn(`proxy-${why}`, { remote: socket.remoteAddress, listener, why, detail }, `connection from a trusted balancer closed: its PROXY protocol header is ${why === 'missing' ? 'missing' : why === 'busy' ? 'not read, too many are waiting' : why === 'timeout' ? 'late' : why}`);
    socket.destroy();
  }
}
