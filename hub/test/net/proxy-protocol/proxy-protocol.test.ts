/**
 * ProxyProtocol on a bare listener: what the next reader gets (address,
 * first bytes), LOCAL, the header timeout, stop(), and TLS behind a header
 * (the TLS socket takes the client's address from the TCP socket it wraps).
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import pino from 'pino';
import { listenBehindProxy } from '../../../src/net/proxy-protocol/listen-behind-proxy.js';
import { ProxyProtocol, inheritProxiedAddress } from '../../../src/net/proxy-protocol/proxy-protocol.js';
import { proxyV2, proxyV2Local } from '../../helpers/proxy-header.js';

const BALANCER = '127.0.0.5';
const silent = pino({ level: 'silent' });

interface Handed {
  address: string | undefined;
  port: number | undefined;
  family: string | undefined;
  firstBytes: string;
}

/** A listener whose next reader records the address it sees and the first bytes it reads. */
async function listener(t: Test, proxy: ProxyProtocol): Promise<{ port: number; handed: Promise<Handed> }> {
  let resolveHanded!: (h: Handed) => void;
  const handed = new Promise<Handed>((r) => (resolveHanded = r));
  const server: Server = createServer((socket) =>
    proxy.accept(socket, 'mqtt', (s: Socket) => {
      // As aedes reads: paused mode, a 'readable' listener added after the hand-over.
      s.on('readable', () => {
        const chunk = s.read() as Buffer | null;
        if (chunk) resolveHanded({ address: s.remoteAddress, port: s.remotePort, family: s.remoteFamily, firstBytes: chunk.toString() });
      });
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    proxy.stop();
    server.close();
  });
  return { port: (server.address() as { port: number }).port, handed };
}

function dial(t: Test, port: number, localAddress = BALANCER): Socket {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => undefined);
  t.teardown(() => socket.destroy());
  return socket;
}

t.test('PROXY: the next reader sees the client address and exactly the bytes after the header', async (t) => {
  const proxy = new ProxyProtocol({ trusted: [BALANCER], log: silent });
  const { port, handed } = await listener(t, proxy);
  dial(t, port).end(Buffer.concat([proxyV2({ address: '203.0.113.7', port: 4242 }), Buffer.from('hello')]));
  t.same(await handed, { address: '203.0.113.7', port: 4242, family: 'IPv4', firstBytes: 'hello' });
  t.same(proxy.counters.accepted, { proxy: 1, local: 0 });
});

t.test('LOCAL (a health check) keeps the balancer\'s address', async (t) => {
  const proxy = new ProxyProtocol({ trusted: [BALANCER], log: silent });
  const { port, handed } = await listener(t, proxy);
  dial(t, port).end(Buffer.concat([proxyV2Local(), Buffer.from('GET /healthz')]));
  t.match(await handed, { address: BALANCER, family: 'IPv4', firstBytes: 'GET /healthz' });
  t.same(proxy.counters.accepted, { proxy: 0, local: 1 });
});

t.test('an untrusted address is handed over at once, its bytes unread', async (t) => {
  const proxy = new ProxyProtocol({ trusted: ['10.0.0.0/8'], log: silent });
  const { port, handed } = await listener(t, proxy);
  const header = proxyV2({ address: '203.0.113.7', port: 1 });
  dial(t, port).end(header);
  t.same(await handed, { address: BALANCER, port: (await handed).port, family: 'IPv4', firstBytes: header.toString() });
  t.same(proxy.counters, { accepted: { proxy: 0, local: 0 }, refused: { missing: 0, malformed: 0, oversized: 0, timeout: 0, busy: 0 } });
});

t.test('a slow header is closed at the timeout and counted; stop() drops those still waiting', async (t) => {
  const proxy = new ProxyProtocol({ trusted: [BALANCER], log: silent, headerTimeoutMs: 200 });
  const { port } = await listener(t, proxy);
  const slow = dial(t, port);
  slow.write(proxyV2({ address: '1.2.3.4', port: 1 }).subarray(0, 10));
  const started = Date.now();
  await new Promise((r) => slow.once('close', r));
  t.ok(Date.now() - started >= 150, 'not before the timeout');
  t.equal(proxy.counters.refused.timeout, 1);

  const patient = new ProxyProtocol({ trusted: [BALANCER], log: silent, headerTimeoutMs: 60_000 });
  const other = await listener(t, patient);
  const waiting = dial(t, other.port);
  await new Promise((r) => waiting.once('connect', r));
  while (patient.waitingCount === 0) await new Promise((r) => setTimeout(r, 10));
  patient.stop();
  await new Promise((r) => waiting.once('close', r));
  t.equal(patient.waitingCount, 0);
  t.equal(patient.counters.refused.timeout, 0, 'stopping is not a refusal');
});

t.test('an oversized v2 header is closed from its length field alone', async (t) => {
  const proxy = new ProxyProtocol({ trusted: [BALANCER], log: silent });
  const { port } = await listener(t, proxy);
  const socket = dial(t, port);
  const header = proxyV2({ address: '1.2.3.4', port: 1 });
  header.writeUInt16BE(60_000, 14);
  socket.write(header);
  await new Promise((r) => socket.once('close', r));
  t.equal(proxy.counters.refused.oversized, 1);
});

t.test('TLS behind a header: the handshake works and the TLS socket carries the client address', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-proxy-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const proxy = new ProxyProtocol({ trusted: [BALANCER], log: silent });
  const seen = new Promise<string | undefined>((resolve) => {
    const tlsServer = createTlsServer({ cert: readFileSync(cert), key: readFileSync(key) }, (s: TLSSocket) => {
      inheritProxiedAddress(s);
      resolve(s.remoteAddress);
      s.end('hi');
    });
    void listenBehindProxy(tlsServer, proxy, 'mqtts', '127.0.0.1', 0).then((front) => {
      t.teardown(() => front.close());
      const raw = dial(t, (front.address() as { port: number }).port);
      raw.once('connect', () => {
        // The header and the ClientHello may arrive in one segment: corked into one write here.
        raw.cork();
        raw.write(proxyV2({ address: '198.51.100.3', port: 9 }));
        const secure = tlsConnect({ socket: raw, rejectUnauthorized: false });
        secure.on('error', () => undefined);
        process.nextTick(() => raw.uncork());
      });
    });
  });
  t.equal(await seen, '198.51.100.3');
});
