/**
 * Answers a WebSocket upgrade with a plain HTTP error and closes the socket,
 * without upgrading: the one way to refuse before a socket exists.
 *
 * Node removes the HTTP server's own error listener before it emits
 * 'upgrade', and a client that resets or closes instead of reading the
 * answer makes the write fail: the socket keeps a listener of its own. A
 * client that never closes its side is not waited for either.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '@iot-hub/protocol';
import { absorbSocketErrors } from './socket-errors.js';

/** Time for the answer to leave and the client to close, after which the socket is destroyed. */
const REFUSAL_LINGER_MS = 2_000;

export function refuseUpgrade(socket: Duplex, status: number, error: ErrorCode, message: string): void {
  absorbSocketErrors(socket);
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ error, code: status, message });
  const timer = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
