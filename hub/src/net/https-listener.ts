/**
 * HTTPS, and so WSS, for the API's server: a native https.Server with the
 * configured certificate hands each request and upgrade to the listeners of
 * the (never listening) HTTP server that buildApi() built. The API and the
 * WebSocket endpoints stay unaware of TLS; only how the hub listens changes.
 * The https.Server keeps Node's own connection tracking and header and
 * request timeouts.
 */
import type { Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Logger } from 'pino';
import type { HttpConnectionLimiter } from './http-connection-limiter.js';
import type { httpServerTimeouts } from './http-timeouts.js';
import { absorbSocketErrors } from './socket-errors.js';
import { listenBehindProxy } from './proxy-protocol/listen-behind-proxy.js';
import { inheritProxiedAddress, type ProxyProtocol } from './proxy-protocol/proxy-protocol.js';
import { TLS_MIN_VERSION, type TlsFiles } from './tls.js';

export class HttpsListener {
  private server: Server | null = null;
  /** The plain listener in front that reads PROXY headers, when a balancer is trusted. */
  private front: NetServer | null = null;

  constructor(
    private readonly target: HttpServer,
    private readonly files: TlsFiles,
    private readonly log: Logger,
    /** The plain server's timeouts (http-timeouts.ts), and the time a TLS handshake may take. */
    private readonly timeouts: ReturnType<typeof httpServerTimeouts> & { handshakeTimeout: number },
    /** Counts and caps this listener's connections. */
    private readonly limiter: HttpConnectionLimiter,
    /** PROXY protocol from trusted balancers, read before the TLS handshake; absent = off. */
    private readonly proxyProtocol?: ProxyProtocol,
  ) {}

  /** Resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    const server = createServer({ cert: this.files.cert, key: this.files.key, minVersion: TLS_MIN_VERSION, ...this.timeouts });
    server.on('connection', absorbSocketErrors);
    // Over a cap the connection is closed before the handshake: not worth its cost.
    this.limiter.attach(server, false);
    server.on('request', (req, res) => this.target.emit('request', req, res));
    server.on('upgrade', (req, socket, head) => this.target.emit('upgrade', req, socket, head));
    // Bad requests and timeouts are answered (and counted) by the target's listeners, as on plain HTTP.
    server.on('clientError', (err, socket) => this.target.emit('clientError', err, socket));
    server.on('tlsClientError', (err, socket) => this.log.debug({ err: err.message, remote: socket.remoteAddress }, 'HTTPS handshake failed'));
    this.server = server;
    if (this.proxyProtocol) {
      // Before the HTTP layer's own listener: requests read the client's address from the TLS socket.
      server.prependListener('secureConnection', inheritProxiedAddress);
      this.front = await listenBehindProxy(server, this.proxyProtocol, 'http', host, port);
      return (this.front.address() as AddressInfo).port;
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  /** Stops listening and drops its HTTP connections (upgraded sockets belong to their endpoints). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    // Not awaited: its close waits for the sockets it handed over, which the server below drops.
    this.front?.close();
    this.front = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
