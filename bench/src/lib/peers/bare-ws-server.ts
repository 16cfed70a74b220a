/**
 * Child entry of the bare ws peer: a `ws` server that broadcasts every text
 * message a client sends to every other open client, and does nothing else
 * (no protocol, no authentication, no backpressure). The message is sent as
 * the string it arrived as, once per receiver: ws frames it per socket.
 *
 * Listens on a free port of 127.0.0.1 and prints the port on stdout, alone
 * on one line. Ends on SIGTERM or SIGINT.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
server.on('connection', (socket: WebSocket) => {
  socket.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) return;
    // Decoded once, sent to all: the cost of a broadcast is the sends.
    const text = data.toString();
    for (const other of server.clients) {
      if (other !== socket && other.readyState === other.OPEN) other.send(text);
    }
  });
});
server.on('listening', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
