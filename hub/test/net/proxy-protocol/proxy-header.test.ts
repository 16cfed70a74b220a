/** The PROXY header parser on bytes alone: every verdict, every cut point, the caps. */
import t from 'tap';
import { MAX_V2_HEADER_BYTES, parseProxyHeader } from '../../../src/net/proxy-protocol/proxy-header.js';
import { proxyV2, proxyV2Local, v2Frame } from '../../helpers/proxy-header.js';

const MQTT_CONNECT_START = Buffer.from([0x10, 0x1a, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54]);

t.test('v2 PROXY over IPv4: the source, the header length, the client bytes after it untouched', async (t) => {
  const header = proxyV2({ address: '127.0.0.9', port: 40001 }, { address: '10.0.0.1', port: 1883 });
  t.equal(header.length, 28);
  t.same(parseProxyHeader(Buffer.concat([header, MQTT_CONNECT_START])), { status: 'ok', version: 2, command: 'proxy', length: 28, source: { address: '127.0.0.9', port: 40001, family: 'IPv4' } });
});

t.test('v2 PROXY over IPv6: Node\'s own compressed spelling', async (t) => {
  const header = proxyV2({ address: '2001:db8::7', port: 65535 }, { address: '::1', port: 8080 });
  t.same(parseProxyHeader(header), { status: 'ok', version: 2, command: 'proxy', length: 52, source: { address: '2001:db8::7', port: 65535, family: 'IPv6' } });
});

t.test('v2 LOCAL keeps the connection\'s address, whatever addresses it carries', async (t) => {
  t.same(parseProxyHeader(proxyV2Local()), { status: 'ok', version: 2, command: 'local', length: 16, source: null });
  const withAddresses = proxyV2({ address: '1.2.3.4', port: 1 });
  withAddresses[12] = 0x20;
  t.same(parseProxyHeader(withAddresses), { status: 'ok', version: 2, command: 'local', length: 28, source: null });
});

t.test('v2 TLVs are skipped; UNSPEC and UNIX keep the connection\'s address', async (t) => {
  const tlv = Buffer.from([0x04, 0x00, 0x03, 0x00, 0x00, 0x00]); // PP2_TYPE_NOOP, 3 bytes
  t.same(parseProxyHeader(proxyV2({ address: '10.1.2.3', port: 5 }, undefined, tlv)), { status: 'ok', version: 2, command: 'proxy', length: 34, source: { address: '10.1.2.3', port: 5, family: 'IPv4' } });
  t.same(parseProxyHeader(v2Frame(0x21, 0x00, Buffer.alloc(0))), { status: 'ok', version: 2, command: 'proxy', length: 16, source: null });
  t.same(parseProxyHeader(v2Frame(0x21, 0x31, Buffer.alloc(216))), { status: 'ok', version: 2, command: 'proxy', length: 232, source: null });
});

t.test('every strict prefix of a header is incomplete, never a verdict', async (t) => {
  for (const header of [proxyV2({ address: '127.0.0.9', port: 1 }), proxyV2({ address: 'fe80::1', port: 2 }), Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')]) {
    for (let n = 0; n < header.length; n++) t.same(parseProxyHeader(header.subarray(0, n)), { status: 'incomplete' }, `${n} of ${header.length} bytes`);
  }
});

t.test('no header: MQTT, HTTP or TLS first bytes are "missing" at once', async (t) => {
  for (const first of [MQTT_CONNECT_START, Buffer.from('GET /healthz HTTP/1.1\r\n'), Buffer.from([0x16, 0x03, 0x01]), Buffer.from('P')]) {
    const verdict = parseProxyHeader(first);
    if (first.length === 1) t.same(verdict, { status: 'incomplete' }, '"P" may still become "PROXY "');
    else t.match(verdict, { status: 'invalid', fault: 'missing' });
  }
  t.match(parseProxyHeader(Buffer.from('\r\n\r\n\0\r\nQUIX')), { status: 'invalid', fault: 'missing' }, 'a signature that differs late');
});

t.test('malformed v2: version, command, family, transport, short address blocks', async (t) => {
  const ipv4 = proxyV2({ address: '1.2.3.4', port: 1 }).subarray(16);
  const cases: Array<[string, Buffer, RegExp]> = [
    ['version 1 in a v2 frame', v2Frame(0x11, 0x11, ipv4), /version 1, expected 2/],
    ['command 2', v2Frame(0x22, 0x11, ipv4), /unknown command 2/],
    ['family 4', v2Frame(0x21, 0x41, ipv4), /unknown address family 4/],
    ['UDP', v2Frame(0x21, 0x12, ipv4), /transport 2/],
    ['IPv4 in 11 bytes', v2Frame(0x21, 0x11, ipv4.subarray(0, 11)), /11 bytes cannot hold IPv4/],
    ['IPv6 in 12 bytes', v2Frame(0x21, 0x21, ipv4), /12 bytes cannot hold IPv6/],
    ['UNIX in 12 bytes', v2Frame(0x21, 0x31, ipv4), /12 bytes cannot hold UNIX/],
  ];
  for (const [name, bytes, detail] of cases) t.match(parseProxyHeader(bytes), { status: 'invalid', fault: 'malformed', detail }, name);
});

t.test('oversized v2: refused from the declared length alone, before the bytes come', async (t) => {
  t.equal(MAX_V2_HEADER_BYTES, 536);
  const atCap = v2Frame(0x21, 0x11, Buffer.concat([proxyV2({ address: '1.2.3.4', port: 1 }).subarray(16), Buffer.from([0x04, 0x01, 0xf9]), Buffer.alloc(505)]));
  t.equal(atCap.length, 536);
  t.match(parseProxyHeader(atCap), { status: 'ok', length: 536 });
  t.same(parseProxyHeader(v2Frame(0x21, 0x11, Buffer.alloc(0), 521)), { status: 'invalid', fault: 'oversized', detail: 'declares 521 bytes after the fixed part, at most 520 taken' });
});

t.test('v1 text: TCP4, TCP6, UNKNOWN; bad lines are malformed, long ones oversized', async (t) => {
  t.same(parseProxyHeader(Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /')), { status: 'ok', version: 1, command: 'proxy', length: 47, source: { address: '192.168.0.1', port: 56324, family: 'IPv4' } });
  t.same(parseProxyHeader(Buffer.from('PROXY TCP6 2001:DB8:0:0::1 ::1 7 8\r\n')), { status: 'ok', version: 1, command: 'proxy', length: 36, source: { address: '2001:db8::1', port: 7, family: 'IPv6' } });
  t.same(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { status: 'ok', version: 1, command: 'proxy', length: 15, source: null });
  for (const line of ['PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n', 'PROXY TCP4 ::1 ::1 1 2\r\n', 'PROXY TCP6 1.2.3.4 ::1 1 2\r\n', 'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', 'PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n']) {
    t.match(parseProxyHeader(Buffer.from(line)), { status: 'invalid', fault: 'malformed' }, JSON.stringify(line));
  }
  t.match(parseProxyHeader(Buffer.from(`PROXY UNKNOWN ${'x'.repeat(100)}`)), { status: 'invalid', fault: 'oversized' });
  t.match(parseProxyHeader(Buffer.from(`PROXY UNKNOWN ${'x'.repeat(100)}\r\n`)), { status: 'invalid', fault: 'oversized' });
});
