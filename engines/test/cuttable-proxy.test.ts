/** startCuttableProxy in front of an echo server: relays, cuts (reset, blackhole), restores. */
import { connect, createServer, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { startCuttableProxy } from '@iot-hub/engines';

async function echoServer(t: Test): Promise<number> {
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => server.close(r)));
  return (server.address() as { port: number }).port;
}

function dial(t: Test, port: number): Socket {
  const s = connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  t.teardown(() => s.destroy());
  return s;
}

/** What comes back for `text` within ms, and whether the socket was closed (and how). */
function roundTrip(s: Socket, text: string, ms = 500): Promise<{ echo: string; closed: boolean; error: string | null }> {
  let echo = '';
  let error: string | null = null;
  s.on('data', (d: Buffer) => (echo += d.toString()));
  s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  if (!s.destroyed) s.write(text);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ echo, closed: s.destroyed, error }), ms);
    s.once('close', () => (clearTimeout(timer), resolve({ echo, closed: true, error })));
  });
}

t.test('relays both ways; cut() resets open and new connections; restore() relays again', async (t) => {
  const proxy = await startCuttableProxy(await echoServer(t));
  t.teardown(() => proxy.stop());
  const open = dial(t, proxy.port);
  t.same(await roundTrip(open, 'ping'), { echo: 'ping', closed: false, error: null });
  t.equal(proxy.connectionCount, 1);
  proxy.cut();
  t.equal(proxy.isCut, true);
  await new Promise((r) => open.once('close', r));
  t.equal(proxy.connectionCount, 0);
  t.match(await roundTrip(dial(t, proxy.port), 'lost'), { echo: '', closed: true }, 'a new connection is reset');
  proxy.restore();
  t.same(await roundTrip(dial(t, proxy.port), 'back'), { echo: 'back', closed: false, error: null });
});

t.test('cut("blackhole"): nothing answers, nothing closes; restore() resets what was held', async (t) => {
  const proxy = await startCuttableProxy(await echoServer(t));
  t.teardown(() => proxy.stop());
  const open = dial(t, proxy.port);
  t.same(await roundTrip(open, 'a'), { echo: 'a', closed: false, error: null });
  proxy.cut('blackhole');
  const held = await roundTrip(open, 'b', 300);
  t.same(held, { echo: '', closed: false, error: null }, 'the old connection hangs: no echo of b');
  const fresh = dial(t, proxy.port);
  t.same(await roundTrip(fresh, 'c', 300), { echo: '', closed: false, error: null }, 'a new one connects and hangs');
  t.equal(proxy.connectionCount, 2);
  proxy.restore();
  await new Promise((r) => (open.destroyed ? r(null) : open.once('close', r)));
  t.same(await roundTrip(dial(t, proxy.port), 'd'), { echo: 'd', closed: false, error: null });
});
