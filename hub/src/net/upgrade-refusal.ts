/**
 * Answers a WebSocket upgrade with a plain HTTP error and closes the socket,
 * without upgrading: the one way to refuse before a socket exists.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '@iot-hub/protocol';

export function refuseUpgrade(socket: Duplex, status: number, error: ErrorCode, message: string): void {
  const body = JSON.stringify({ error, code: status, message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
