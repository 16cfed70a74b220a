/**
 * How the fan-out writer tells a client that stopped reading from one that
 * reads: by pings that the client answers once it has read everything
 * before them, not by the hub's own send buffer (which stays empty until
 * the kernel's buffers, several MB on loopback, are full). A real ws server
 * and client over loopback, in this process.
 */
import t, { type Test } from 'tap';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { FanoutWriter, Outbox, type OutboxLimits } from '../../src/live/outbox.js';

const LIMITS: OutboxLimits = { softBytes: 32 * 1024, probeBytes: 8 * 1024, hardBytes: 64 * 1024 * 1024, maxCoalesced: 1000, drainPollMs: 10 };
const DEVICES = 20;

interface Pair {
  writer: FanoutWriter;
  box: Outbox;
  client: WebSocket;
  clientSocket: Socket;
  received: Record<string, unknown>[];
  dropped: { count: number; firstAtWritten: number | null };
}

async function pair(t: Test): Promise<Pair> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as { port: number }).port;
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', (ws) => resolve(ws)));
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  t.teardown(() => client.terminate());
  const received: Record<string, unknown>[] = [];
  client.on('message', (data) => received.push(JSON.parse(data.toString()) as Record<string, unknown>));
  await new Promise((resolve) => client.once('open', resolve));
  const ws = await accepted;
  const box = new Outbox(ws);
  const dropped = { count: 0, firstAtWritten: null as number | null };
  const writer = new FanoutWriter(LIMITS, {
    dropped: (n) => {
      dropped.count += n;
      dropped.firstAtWritten ??= box.written;
    },
    tooSlow: () => t.fail('never past the hard bound here'),
  });
  ws.on('pong', (data: Buffer) => writer.pong(box, data));
  t.teardown(() => {
    writer.closed(box);
    writer.stop();
  });
  return { writer, box, client, clientSocket: (client as unknown as { _socket: Socket })._socket, received, dropped };
}

/** One event-loop turn's worth of telemetry frames, ~140 bytes each, device ids cycling. */
function pushTurn(p: Pair, seq: { n: number }, frames: number): void {
  for (let i = 0; i < frames; i++) {
    const n = seq.n++;
    const deviceId = `dev-${n % DEVICES}`;
    const frame = p.writer.frame({ event: 'telemetry', deviceId, ts: n, metrics: { reading: n, humidity: 40.123456, pressure: 1013.25678, voltage: 3.3012345 } }, { kind: 'telemetry', deviceId });
    p.writer.enqueue(p.box, frame);
  }
}

const turn = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a client that stopped reading is behind after about softBytes, then gets the newest per device and an overflow notice', async (t) => {
  const p = await pair(t);
  p.clientSocket.pause();
  const seq = { n: 0 };
  // 4 MB at most: on loopback the kernel alone takes more than LIMITS.softBytes before Node buffers a byte.
  while (p.dropped.count === 0 && p.box.written < 4 * 1024 * 1024) {
    pushTurn(p, seq, 10);
    await turn();
  }
  t.ok(p.dropped.count > 0, 'frames for the stalled client were coalesced');
  const at = p.dropped.firstAtWritten as number;
  t.ok(at <= LIMITS.softBytes + LIMITS.probeBytes + 4096, `coalescing began after ${at} bytes written (soft bound ${LIMITS.softBytes}, probe every ${LIMITS.probeBytes})`);
  t.equal(p.box.ws.bufferedAmount, 0, "the kernel still had room: the hub's own buffer never saw the stall");
  t.not(p.box.probe, null, 'one ping waits for its answer');

  // More turns while stalled: replaced per device, never queued.
  for (let i = 0; i < 50; i++) {
    pushTurn(p, seq, 10);
    await turn();
  }
  const writtenWhileBehind = p.box.written;
  t.equal(p.box.kept.size, DEVICES, 'the newest frame of each device is kept, nothing more');

  p.clientSocket.resume();
  const deadline = Date.now() + 5000;
  while (p.received.at(-1)?.event !== 'overflow' && Date.now() < deadline) await turn(5);
  const last = p.received.at(-1);
  t.equal(last?.event, 'overflow', 'the notice comes last, once the client caught up');
  const telemetry = p.received.filter((f) => f.event === 'telemetry');
  t.equal(telemetry.length + (last?.dropped as number), seq.n, 'every event was delivered or counted as dropped');
  for (let d = 0; d < DEVICES; d++) {
    const readings = telemetry.filter((f) => f.deviceId === `dev-${d}`).map((f) => (f.metrics as { reading: number }).reading);
    const newest = seq.n - 1 - ((seq.n - 1 - d) % DEVICES);
    t.equal(readings.at(-1), newest, `dev-${d}'s newest value (${newest}) arrived`);
  }
  t.ok(p.box.written > writtenWhileBehind, 'the kept frames went out after the pong');
  t.equal(p.box.kept.size, 0, 'nothing is kept once caught up');
});

t.test('a client that reads is never coalesced, and a pong the writer did not ask for moves nothing', async (t) => {
  const p = await pair(t);
  const seq = { n: 0 };
  while (p.box.written < 1024 * 1024) {
    pushTurn(p, seq, 10);
    // A gap per turn, as events arrive over time: the client reads and answers within it.
    await turn(1);
  }
  const deadline = Date.now() + 5000;
  while (p.received.length < seq.n && Date.now() < deadline) await turn(5);
  t.equal(p.dropped.count, 0, `nothing was coalesced over ${p.box.written} bytes, ${LIMITS.softBytes / 1024} KiB soft bound`);
  t.same(
    p.received.map((f) => (f.metrics as { reading: number }).reading),
    Array.from({ length: seq.n }, (_, i) => i),
    'every frame arrived, in order',
  );
  t.ok(p.box.read > p.box.written - LIMITS.softBytes, `pongs kept the estimate current (read ${p.box.read} of ${p.box.written})`);

  const read = p.box.read;
  p.writer.pong(p.box, Buffer.alloc(0));
  p.writer.pong(p.box, Buffer.from('o999999'));
  t.equal(p.box.read, read, 'an empty (heartbeat) pong or an unknown tag is ignored');
});
