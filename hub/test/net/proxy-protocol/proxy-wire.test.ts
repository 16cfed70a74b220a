/**
 * PROXY protocol on the hub's real listeners, over raw sockets from loopback
 * addresses: from the trusted balancer (127.0.0.5) the header's client
 * address is what the per-IP limits and log lines see; from anyone else a
 * header is bad MQTT; a missing or malformed header closes the connection
 * and is counted in /metrics. The API calls of these tests come from
 * 127.0.0.1, which is not trusted, so they need no header.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { openRaw } from '../../helpers/raw-http.js';
import { startTestHub, type TestHub } from '../../helpers/hub.js';
import { proxyV2 } from '../../helpers/proxy-header.js';

const BALANCER = '127.0.0.5';

function connectPacket(id: string, token: string): Buffer {
  return mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: id, username: id, password: Buffer.from(token), clean: true, keepalive: 30 });
}

/** Bytes the hub sends until it closes or `ms` pass, and whether it closed. */
function answer(socket: Socket, ms = 2000): Promise<{ bytes: Buffer; closed: boolean }> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => {
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      resolve({ bytes: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(() => done(false), ms);
    socket.once('close', () => done(true));
  });
}

/** Resolves once `n` bytes came (a CONNACK is 4). */
function firstBytes(socket: Socket, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      if (all.length >= n) resolve(all.subarray(0, n));
    });
    socket.once('close', () => reject(new Error(`closed after ${Buffer.concat(chunks).length} bytes`)));
  });
}

const CONNACK = (code: number): Buffer => Buffer.from([0x20, 0x02, 0x00, code]);

function logCapture(): { stream: { write(line: string): void }; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  return {
    stream: { write: (line: string) => void chunks.push(line) },
    lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

async function metrics(hub: TestHub): Promise<string> {
  return (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.adminToken}` } })).text();
}

t.test('MQTT from the balancer: the per-IP limit and the log see the header\'s address', async (t: Test) => {
  const log = logCapture();
  const hub = await startTestHub(t, { proxyProtocolFrom: [BALANCER], maxUnauthenticatedPerIp: 1, logLevel: 'info' }, undefined, { logDestination: log.stream });
  const device = await hub.provision('px-1');

  // 127.0.0.9 holds its one connection that has not authenticated yet.
  const holder = await openRaw(t, hub.hub.mqttPort, BALANCER);
  holder.write(proxyV2({ address: '127.0.0.9', port: 40001 }));
  await t.resolves(waitFor(async () => (await metrics(hub)).includes('iot_hub_unauthenticated_connections 1')), 'the held connection is counted as 127.0.0.9\'s');

  const refused = await openRaw(t, hub.hub.mqttPort, BALANCER);
  refused.write(Buffer.concat([proxyV2({ address: '127.0.0.9', port: 40002 }), connectPacket(device.id, device.token)]));
  t.same(await firstBytes(refused, 4), CONNACK(3), 'a second one from 127.0.0.9 is over --max-unauthenticated-per-ip');

  // Same balancer, another client: its own budget. Header and CONNECT in one write, as a balancer may coalesce them.
  const other = await openRaw(t, hub.hub.mqttPort, BALANCER);
  other.write(Buffer.concat([proxyV2({ address: '127.0.0.10', port: 40003 }), connectPacket(device.id, device.token)]));
  t.same(await firstBytes(other, 4), CONNACK(0), '127.0.0.10 is not held to 127.0.0.9\'s share');

  const line = log.lines().find((l) => typeof l.msg === 'string' && l.msg.includes('--max-unauthenticated-per-ip'));
  t.equal(line?.remote, '127.0.0.9', 'the refusal names the client, not the balancer');
  t.match(await metrics(hub), /iot_hub_proxy_protocol_headers_total\{command="proxy"\} 3\n/);
});

t.test('header and CONNECT in separate writes, and bytes split inside the header', async (t: Test) => {
  const hub = await startTestHub(t, { proxyProtocolFrom: [BALANCER] });
  const device = await hub.provision('px-2');
  const socket = await openRaw(t, hub.hub.mqttPort, BALANCER);
  const header = proxyV2({ address: '127.0.0.11', port: 1 });
  const connack = firstBytes(socket, 4);
  socket.write(header.subarray(0, 7));
  await new Promise((r) => setTimeout(r, 50));
  socket.write(header.subarray(7));
  await new Promise((r) => setTimeout(r, 50));
  socket.write(connectPacket(device.id, device.token));
  t.same(await connack, CONNACK(0));
});

t.test('from an untrusted address a header is not read: it is bad MQTT, closed without CONNACK', async (t: Test) => {
  const hub = await startTestHub(t, { proxyProtocolFrom: [BALANCER] });
  const device = await hub.provision('px-3');
  const impostor = await openRaw(t, hub.hub.mqttPort, '127.0.0.6');
  const seen = answer(impostor);
  impostor.write(Buffer.concat([proxyV2({ address: '127.0.0.9', port: 1 }), connectPacket(device.id, device.token)]));
  t.same(await seen, { bytes: Buffer.alloc(0), closed: true });
  const plain = await openRaw(t, hub.hub.mqttPort, '127.0.0.6');
  plain.write(connectPacket(device.id, device.token));
  t.same(await firstBytes(plain, 4), CONNACK(0), 'plain MQTT from there works as without the setting');
  t.match(await metrics(hub), /iot_hub_proxy_protocol_headers_total\{command="proxy"\} 0\n/);
});

t.test('from the balancer a missing or malformed header closes the connection, counted', async (t: Test) => {
  const log = logCapture();
  const hub = await startTestHub(t, { proxyProtocolFrom: [`${BALANCER}/32`], logLevel: 'info' }, undefined, { logDestination: log.stream });
  const device = await hub.provision('px-4');
  const bare = await openRaw(t, hub.hub.mqttPort, BALANCER);
  const bareSeen = answer(bare);
  bare.write(connectPacket(device.id, device.token));
  t.same(await bareSeen, { bytes: Buffer.alloc(0), closed: true }, 'no header: closed before aedes saw the CONNECT');
  const bad = await openRaw(t, hub.hub.mqttPort, BALANCER);
  const badSeen = answer(bad);
  const header = proxyV2({ address: '127.0.0.9', port: 1 });
  header[12] = 0x31; // version 3
  bad.write(header);
  t.same(await badSeen, { bytes: Buffer.alloc(0), closed: true }, 'malformed: closed');
  const text = await metrics(hub);
  t.match(text, /iot_hub_proxy_protocol_refused_total\{reason="missing"\} 1\n/);
  t.match(text, /iot_hub_proxy_protocol_refused_total\{reason="malformed"\} 1\n/);
  const lines = log.lines().filter((l) => l.part === 'proxy-protocol');
  t.match(lines, [
    { remote: BALANCER, listener: 'mqtt', why: 'missing', msg: 'connection from a trusted balancer closed: its PROXY protocol header is missing' },
    { remote: BALANCER, listener: 'mqtt', why: 'malformed', detail: 'version 3, expected 2' },
  ]);
});

t.test('HTTP from the balancer: requests are served, and the per-IP HTTP cap counts the header\'s address', async (t: Test) => {
  const hub = await startTestHub(t, { proxyProtocolFrom: [BALANCER], maxHttpConnectionsPerIp: 1 });
  const request = 'GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n';
  const first = await openRaw(t, hub.hub.httpPort, BALANCER);
  first.write(Buffer.concat([proxyV2({ address: '127.0.0.9', port: 1 }, { address: '127.0.0.1', port: 8080 }), Buffer.from(request)]));
  t.match((await firstBytes(first, 12)).toString(), 'HTTP/1.1 200', 'served (header and request in one write)');
  // first stays open (keep-alive): 127.0.0.9 is at its cap.
  const second = await openRaw(t, hub.hub.httpPort, BALANCER);
  second.write(proxyV2({ address: '127.0.0.9', port: 2 }));
  second.write(request);
  t.match((await firstBytes(second, 12)).toString(), 'HTTP/1.1 429');
  const third = await openRaw(t, hub.hub.httpPort, BALANCER);
  third.write(proxyV2({ address: '127.0.0.10', port: 3 }));
  third.write(request);
  t.match((await firstBytes(third, 12)).toString(), 'HTTP/1.1 200', 'another client behind the same balancer is not refused');
});

t.test('TLS behind the header: MQTTS and HTTPS, and the MQTTS refusal names the client', async (t: Test) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-proxy-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const [tlsCert, tlsKey] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', tlsKey, '-out', tlsCert], { stdio: 'ignore' });
  const log = logCapture();
  const hub = await startTestHub(t, { proxyProtocolFrom: [BALANCER], tlsCert, tlsKey, mqttsPort: 0, logLevel: 'info' }, undefined, { logDestination: log.stream });
  /** A TLS session over a connection from the balancer that starts with a header for `client`. */
  const overHeader = async (port: number, client: string): Promise<Socket> => {
    const raw = await openRaw(t, port, BALANCER);
    raw.write(proxyV2({ address: client, port: 5000 }));
    const secure = tlsConnect({ socket: raw, rejectUnauthorized: false });
    secure.on('error', () => undefined);
    t.teardown(() => secure.destroy());
    await new Promise((r) => secure.once('secureConnect', r));
    return secure;
  };
  const https = await overHeader(hub.hub.httpPort, '127.0.0.9');
  https.write('GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n');
  t.match((await firstBytes(https, 12)).toString(), 'HTTP/1.1 200');
  const mqtts = await overHeader(hub.hub.mqttsPort!, '127.0.0.9');
  mqtts.write(connectPacket('nobody', 'wrong-token'));
  t.same(await firstBytes(mqtts, 4), CONNACK(4));
  const refused = log.lines().find((l) => l.msg === 'MQTT connection refused');
  t.equal(refused?.remote, '127.0.0.9');
});

async function waitFor(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
