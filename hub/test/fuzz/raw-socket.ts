/** Raw TCP sockets for the wire fuzzers: the fuzzer writes bytes no client library would. */
import { connect, type Socket } from 'node:net';

export interface RawSocket {
  socket: Socket;
  /** Turns true when the hub ends the connection (or it ends for any reason). */
  readonly closed: boolean;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves with what arrived once at least `n` bytes did, the socket closed, or `ms` passed. */
  firstBytes(n: number, ms: number): Promise<Buffer>;
  /** Resolves with what arrived once it contains `marker`, the socket closed, or `ms` passed. */
  until(marker: string, ms: number): Promise<Buffer>;
}

export function openRawSocket(port: number): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    const chunks: Buffer[] = [];
    let size = 0;
    let closed = false;
    const waiters = new Set<() => void>();
    const wake = () => {
      for (const w of [...waiters]) w();
    };
    // Bounded: a fuzzer only looks at the start of what the hub answers.
    socket.on('data', (d: Buffer) => {
      if (size < 1 << 16) {
        chunks.push(d);
        size += d.length;
      }
      wake();
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      closed = true;
      wake();
    });
    const received = () => Buffer.concat(chunks);
    const waitFor = (done: () => boolean, ms: number): Promise<Buffer> =>
      new Promise((r) => {
        const check = () => {
          if (!done() && !closed) return;
          waiters.delete(check);
          clearTimeout(timer);
          r(received());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          r(received());
        }, ms);
        waiters.add(check);
        check();
      });
    const raw: RawSocket = {
      socket,
      get closed() {
        return closed;
      },
      received,
      firstBytes: (n, ms) => waitFor(() => size >= n, ms),
      until: (marker, ms) => waitFor(() => received().includes(marker), ms),
    };
    socket.once('connect', () => resolve(raw));
    socket.once('error', reject);
  });
}

/** Writes and waits for the socket to take more (or to close): the fuzzer never buffers without bound. */
export function writeAll(socket: Socket, bytes: Buffer | string): Promise<void> {
  return new Promise((r) => {
    if (socket.destroyed) return r();
    if (socket.write(bytes)) r();
    else {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        r();
      };
      socket.once('drain', done);
      socket.once('close', done);
    }
  });
}
