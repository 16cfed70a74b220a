/**
 * Hostile WebSocket framing on /ws/device, with a raw client that writes
 * frames byte by byte: each closes that socket with the right code, is
 * counted, and leaves every other device alone.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { deflateRawSync } from 'node:zlib';
import { deviceSocket } from '../helpers/clients.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

interface RawSocket {
  socket: Socket;
  /** Response headers of the upgrade, lower-cased. */
  headers: Record<string, string>;
  /** The status code of the hub's close frame. */
  closeCode: Promise<number>;
  /** Writes, waiting for the socket to drain; false once the hub closed it. */
  write(data: Buffer): Promise<boolean>;
}

/** A client frame (always masked, [RFC 6455 5.3]); a zero mask leaves the payload as is. */
function frame(opcode: number, payload: Buffer, { fin = true, rsv1 = false } = {}): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0, 0x80 | len]) : Buffer.from([0, 0x80 | 126, len >> 8, len & 0xff]);
  head[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  if (len > 0xffff) throw new Error('test frames stay under 64 KiB');
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

async function rawDeviceSocket(t: Test, hub: TestHub, id: string, token: string, extraHeaders = ''): Promise<RawSocket> {
  const socket = tcpConnect(hub.hub.httpPort, '127.0.0.1');
  socket.on('error', () => undefined);
  t.teardown(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  socket.write(
    `GET /ws/device HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nAuthorization: Basic ${Buffer.from(`${id}:${token}`).toString('base64')}\r\n${extraHeaders}\r\n`,
  );
  let buffer = Buffer.alloc(0);
  let closed = false;
  let resolveClose: (code: number) => void = () => undefined;
  const closeCode = new Promise<number>((r) => (resolveClose = r));
  socket.once('close', () => ((closed = true), resolveClose(-1)));
  const headers = await new Promise<Record<string, string>>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const [status, ...lines] = buffer.subarray(0, end).toString().split('\r\n');
      buffer = buffer.subarray(end + 4);
      if (!status?.startsWith('HTTP/1.1 101')) return reject(new Error(`upgrade refused: ${status}`));
      resolve(Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])));
      socket.on('data', (more: Buffer) => {
        buffer = Buffer.concat([buffer, more]);
        readFrames();
      });
      readFrames();
    };
    socket.on('data', onData);
  });
  // Server frames are not masked; only the close frame matters here.
  function readFrames(): void {
    for (;;) {
      if (buffer.length < 2) return;
      let len = (buffer[1] as number) & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (buffer.length < 4) return;
        len = buffer.readUInt16BE(2);
        offset = 4;
      }
      if (buffer.length < offset + len) return;
      const opcode = (buffer[0] as number) & 0x0f;
      if (opcode === 0x8) {
        resolveClose(buffer.readUInt16BE(offset));
        socket.end(frame(0x8, buffer.subarray(offset, offset + 2)));
      }
      buffer = buffer.subarray(offset + len);
    }
  }
  return {
    socket,
    headers,
    closeCode,
    write: (data) =>
      new Promise((resolve) => {
        if (closed || socket.destroyed) return resolve(false);
        if (socket.write(data)) return resolve(true);
        socket.once('drain', () => resolve(true));
        socket.once('close', () => resolve(false));
      }),
  };
}

async function metric(hub: TestHub, name: string): Promise<number> {
  const text = await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

async function setup(t: Test) {
  const hub = await startTestHub(t);
  const device = await hub.provision('framer');
  const other = await hub.provision('bystander');
  const bystander = await deviceSocket(t, hub, other.id, other.token);
  await bystander.next((f) => f.type === 'welcome');
  const raw = await rawDeviceSocket(t, hub, device.id, device.token);
  const bystanderStillWorks = async () => {
    bystander.send({ type: 'telemetry', mid: 'still', metrics: { ok: 1 } });
    await bystander.next((f) => f.type === 'ack' && f.mid === 'still');
  };
  return { hub, device, raw, bystanderStillWorks };
}

t.test('1,000,000 one-byte fragments: closed with 1008 at the fragment cap, long before the end', async (t) => {
  const { hub, raw, bystanderStillWorks } = await setup(t);
  const one = Buffer.from('a');
  const BATCH = 10_000;
  const batch = Buffer.concat(Array.from({ length: BATCH }, () => frame(0x0, one, { fin: false })));
  let sent = 0;
  if (await raw.write(frame(0x1, one, { fin: false }))) sent = 1;
  while (sent < 1_000_000 && (await raw.write(batch))) sent += BATCH;
  t.equal(await raw.closeCode, 1008, 'policy violation');
  t.ok(sent < 1_000_000, `the hub closed the socket before the client got through (${sent} fragments written)`);
  t.equal(await metric(hub, 'iot_hub_ws_protocol_errors_total{code="WS_ERR_TOO_MANY_BUFFERED_PARTS"}'), 1);
  await bystanderStillWorks();
});

t.test('the size limit covers the assembled message: 70 fragments of 1 KiB close with 1009', async (t) => {
  const { hub, raw, bystanderStillWorks } = await setup(t);
  const kib = Buffer.alloc(1024, 0x20);
  for (let i = 0; i < 70; i++) if (!(await raw.write(frame(i === 0 ? 0x1 : 0x0, kib, { fin: i === 69 })))) break;
  t.equal(await raw.closeCode, 1009, 'message too big');
  t.equal(await metric(hub, 'iot_hub_ws_oversized_frames_total'), 1);
  await bystanderStillWorks();
});

t.test('a text frame that is not valid UTF-8 closes with 1007', async (t) => {
  const { hub, raw, bystanderStillWorks } = await setup(t);
  await raw.write(frame(0x1, Buffer.from([0x7b, 0xc3, 0x28, 0x7d])));
  t.equal(await raw.closeCode, 1007);
  t.equal(await metric(hub, 'iot_hub_ws_protocol_errors_total{code="WS_ERR_INVALID_UTF8"}'), 1);
  await bystanderStillWorks();
});

t.test('compression is never negotiated, and a compressed bomb closes with 1002 unread', async (t) => {
  const hub = await startTestHub(t);
  const device = await hub.provision('bomber');
  const raw = await rawDeviceSocket(t, hub, device.id, device.token, 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n');
  t.equal(raw.headers['sec-websocket-extensions'], undefined, 'permessage-deflate refused');
  // 16 MiB of JSON padding deflates to a few KiB.
  const bomb = deflateRawSync(Buffer.from(`{"type":"telemetry","metrics":{"x":1},"pad":"${' '.repeat(16 * 1024 * 1024)}"}`));
  t.ok(bomb.length < 60_000, `the bomb is ${bomb.length} bytes`);
  await raw.write(frame(0x1, bomb, { rsv1: true }));
  t.equal(await raw.closeCode, 1002, 'protocol error: RSV1 without an extension');
  t.equal(await metric(hub, 'iot_hub_ws_protocol_errors_total{code="WS_ERR_UNEXPECTED_RSV_1"}'), 1);
});
