/** Frames built once by the hub are read by a real ws client as the text sent, at every length encoding. */
import t from 'tap';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { encodeTextFrame } from '../../src/live/ws-frame.js';

t.test('7-bit, 16-bit and 64-bit lengths and multi-byte UTF-8 arrive intact, in order', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as { port: number }).port;
  const server = new Promise<WebSocket>((resolve) => wss.once('connection', (ws) => resolve(ws)));
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  t.teardown(() => client.terminate());
  const received: string[] = [];
  client.on('message', (data, isBinary) => received.push(`${isBinary ? 'binary' : 'text'}:${data.toString()}`));
  await new Promise((resolve) => client.once('open', resolve));
  const ws = await server;

  const texts = ['{}', 'x'.repeat(125), 'é'.repeat(63), 'ü'.repeat(64), 'y'.repeat(65_535), `"${'€'.repeat(30_000)}"`];
  const socket = (ws as unknown as { _socket: Socket })._socket;
  // Two frames in one write too, as the fan-out batches them.
  socket.write(Buffer.concat(texts.slice(0, 2).map(encodeTextFrame)));
  for (const text of texts.slice(2)) socket.write(encodeTextFrame(text));
  ws.send('after');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${received.length} messages`)), 5000);
    client.on('message', () => {
      if (received.length === texts.length + 1) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  t.same(received, [...texts.map((text) => `text:${text}`), 'text:after']);
  t.equal(encodeTextFrame('z'.repeat(70_000)).length, 10 + 70_000, '64-bit length header');
});
