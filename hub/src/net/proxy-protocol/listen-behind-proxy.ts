/**
 * A TCP listener in front of a server that must not read a connection before
 * its PROXY header is taken (aedes' TCP server, a TLS server, the HTTP
 * server): it accepts, lets ProxyProtocol read the header of a trusted
 * connection, then hands the socket to `target` as if `target` had accepted
 * it (`emit('connection')`, as Node documents for http.Server). `target`
 * itself never listens.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ProxiedListener, ProxyProtocol } from './proxy-protocol.js';

/** Resolves with the listening front server (its address() is the port to report). */
export async function listenBehindProxy(target: Server, proxy: ProxyProtocol, listener: ProxiedListener, host: string, port: number): Promise<Server> {
  const handOver = (socket: Socket): void => void target.emit('connection', socket);
  const front = createServer((socket) => proxy.accept(socket, listener, handOver));
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(port, host, () => {
      front.off('error', reject);
      resolve();
    });
  });
  return front;
}
