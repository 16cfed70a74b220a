/**
 * Raw TCP clients for attack tests: requests written by hand, closed the
 * rude ways (RST, FIN before reading), from any loopback address.
 */
import { connect, type Socket } from 'node:net';

interface TapLike {
  teardown(fn: () => unknown): void;
}

/** How the client leaves: RST or FIN, at once after sending or after the first bytes of the answer. */
export type RudeClose = 'rst-at-once' | 'rst-after-answer' | 'fin-at-once' | 'fin-after-answer';
export const RUDE_CLOSES: readonly RudeClose[] = ['rst-at-once', 'rst-after-answer', 'fin-at-once', 'fin-after-answer'];

/** Opens a TCP connection from `localAddress` (127.0.0.x) and resolves once connected. */
export function openRaw(t: TapLike, port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => undefined);
  t.teardown(() => socket.destroy());
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A WebSocket upgrade request for `path` with extra header lines. */
export function upgradeRequest(path: string, headers: Record<string, string> = {}): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    ...('Host' in headers ? [] : ['Host: 127.0.0.1']),
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return lines.join('\r\n') + '\r\n\r\n';
}

/** Sends `request` and closes the connection as `how` says; resolves with what was read (maybe nothing). */
export async function sendAndLeave(t: TapLike, port: number, request: string, how: RudeClose): Promise<string> {
  const socket = await openRaw(t, port);
  let answer = '';
  socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
  socket.write(request);
  if (how === 'rst-at-once') socket.resetAndDestroy();
  else if (how === 'fin-at-once') socket.end();
  else {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      socket.once('data', () => (clearTimeout(timer), resolve()));
      socket.once('close', () => (clearTimeout(timer), resolve()));
    });
    if (how === 'rst-after-answer') socket.resetAndDestroy();
    else socket.end();
  }
  // A server that never closes its side is not waited for beyond this.
  if (!socket.destroyed) await new Promise((r) => (socket.once('close', r), setTimeout(r, 5000).unref()));
  socket.destroy();
  return answer;
}

/** The status line's code of a raw HTTP answer, or null. */
export function statusOf(answer: string): number | null {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(answer);
  return match ? Number(match[1]) : null;
}

/** Sends one request and resolves with the whole answer once the hub closes, switches protocols (101) or `ms` pass. */
export async function exchange(t: TapLike, port: number, request: string, ms = 3000): Promise<string> {
  const socket = await openRaw(t, port);
  let answer = '';
  await new Promise((r) => {
    socket.on('data', (c: Buffer) => {
      answer += c.toString('latin1');
      if (statusOf(answer) === 101 && answer.includes('\r\n\r\n')) r(undefined);
    });
    socket.once('close', r);
    setTimeout(r, ms).unref();
    socket.write(request);
  });
  socket.destroy();
  return answer;
}
