/**
 * Peers reset and abandon connections all the time (ECONNRESET, EPIPE,
 * ETIMEDOUT). A socket's 'error' with no listener is thrown by Node and ends
 * the process, so every socket the hub touches gets a listener from the
 * moment it is accepted, before any check that may refuse it. The error
 * itself needs no handling: 'close' follows, and whoever owns the socket
 * cleans up there.
 */
import type { Duplex } from 'node:stream';

/** One function for every socket, so it can be found again and is never added twice. */
function ignorePeerError(): void {}

export function absorbSocketErrors(socket: Duplex): void {
  if (!socket.listeners('error').includes(ignorePeerError)) socket.on('error', ignorePeerError);
}
