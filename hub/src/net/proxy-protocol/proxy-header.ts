/**
 * The PROXY protocol header a load balancer (HAProxy `send-proxy-v2`) puts in
 * front of a connection's first byte, saying whom it carries: version 2
 * (binary) and version 1 (text), per haproxy's doc/proxy-protocol.txt. Pure:
 * bytes in, a verdict out; the socket side is header-reader.ts.
 *
 * A parse needs at most MAX_V2_HEADER_BYTES, so a caller never buffers more
 * than that plus one read before it knows.
 */
import { SocketAddress, isIPv4, isIPv6 } from 'node:net';

/** [PP2 2.2] The 12-byte signature that starts every version 2 header. */
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** [PP2 2.2] signature (12), version+command, family+transport, length (2). */
const V2_FIXED_BYTES = 16;
/**
 * The longest version 2 address block + TLVs taken: UNIX addresses (216)
 * plus 304 bytes of TLVs (HAProxy sends none by default; with
 * `proxy-v2-options` a few dozen). 16 + 520 = 536 bytes in all.
 */
export const MAX_V2_LENGTH = 520;
export const MAX_V2_HEADER_BYTES = V2_FIXED_BYTES + MAX_V2_LENGTH;
/** [PP2 2.1] "PROXY UNKNOWN" + the longest TCP6 line, CRLF included. */
export const MAX_V1_HEADER_BYTES = 107;
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');

/** [PP2 2.2] Address block sizes of AF_INET, AF_INET6 and AF_UNIX. */
const INET_BYTES = 12;
const INET6_BYTES = 36;
const UNIX_BYTES = 216;

export interface ProxySource {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export type ProxyHeaderFault = 'missing' | 'malformed' | 'oversized';

export type ProxyHeader =
  | { status: 'incomplete' }
  | { status: 'invalid'; fault: ProxyHeaderFault; detail: string }
  /**
   * `length` bytes are the header; what follows is the client's. `source`
   * null = keep the connection's own address: LOCAL (the balancer's own
   * health check), UNKNOWN or an unspecified/UNIX family.
   */
  | { status: 'ok'; version: 1 | 2; command: 'proxy' | 'local'; length: number; source: ProxySource | null };

const INCOMPLETE: ProxyHeader = { status: 'incomplete' };

function invalid(fault: ProxyHeaderFault, detail: string): ProxyHeader {
  return { status: 'invalid', fault, detail };
}

/** Whether `bytes` could still become `prefix` (it is a prefix of it, or starts with it). */
function startsLike(bytes: Buffer, prefix: Buffer): boolean {
  const n = Math.min(bytes.length, prefix.length);
  return bytes.subarray(0, n).equals(prefix.subarray(0, n));
}

/** Parses the header at the start of `bytes` (what has arrived so far). */
export function parseProxyHeader(bytes: Buffer): ProxyHeader {
  if (bytes.length === 0) return INCOMPLETE;
  if (startsLike(bytes, V2_SIGNATURE)) return bytes.length < V2_SIGNATURE.length ? INCOMPLETE : parseV2(bytes);
  if (startsLike(bytes, V1_PREFIX)) return parseV1(bytes);
  return invalid('missing', 'the connection does not start with a PROXY protocol header');
}

function parseV2(bytes: Buffer): ProxyHeader {
  if (bytes.length < V2_FIXED_BYTES) return INCOMPLETE;
  const versionCommand = bytes[12]!;
  const familyTransport = bytes[13]!;
  const length = bytes.readUInt16BE(14);
  // [PP2 2.2] The version is the high nibble and must be 2; the command 0 (LOCAL) or 1 (PROXY).
  if (versionCommand >> 4 !== 2) return invalid('malformed', `version ${versionCommand >> 4}, expected 2`);
  const command = versionCommand & 0x0f;
  if (command > 1) return invalid('malformed', `unknown command ${command}`);
  if (length > MAX_V2_LENGTH) return invalid('oversized', `declares ${length} bytes after the fixed part, at most ${MAX_V2_LENGTH} taken`);
  if (bytes.length < V2_FIXED_BYTES + length) return INCOMPLETE;
  const total = V2_FIXED_BYTES + length;
  // [PP2 2.2] LOCAL: the balancer's own connection (health checks); addresses, if any, are ignored.
  if (command === 0) return { status: 'ok', version: 2, command: 'local', length: total, source: null };
  const family = familyTransport >> 4;
  const transport = familyTransport & 0x0f;
  // [PP2 2.2] 0 UNSPEC, 1 STREAM, 2 DGRAM: a datagram has no place on a TCP listener.
  if (transport > 1 || (transport === 0 && family !== 0)) return invalid('malformed', `transport ${transport} on a stream connection`);
  const body = bytes.subarray(V2_FIXED_BYTES, total);
  switch (family) {
    case 0:
      // [PP2 2.2] AF_UNSPEC: the receiver accepts it and uses the connection's own addresses.
      return { status: 'ok', version: 2, command: 'proxy', length: total, source: null };
    case 1: {
      if (length < INET_BYTES) return invalid('malformed', `${length} bytes cannot hold IPv4 addresses (${INET_BYTES})`);
      const address = `${body[0]}.${body[1]}.${body[2]}.${body[3]}`;
      return { status: 'ok', version: 2, command: 'proxy', length: total, source: { address, port: body.readUInt16BE(8), family: 'IPv4' } };
    }
    case 2: {
      if (length < INET6_BYTES) return invalid('malformed', `${length} bytes cannot hold IPv6 addresses (${INET6_BYTES})`);
      return { status: 'ok', version: 2, command: 'proxy', length: total, source: { address: ipv6Text(body.subarray(0, 16)), port: body.readUInt16BE(32), family: 'IPv6' } };
    }
    case 3:
      // A client on a UNIX socket of the balancer has no IP address: the balancer's stands in.
      if (length < UNIX_BYTES) return invalid('malformed', `${length} bytes cannot hold UNIX addresses (${UNIX_BYTES})`);
      return { status: 'ok', version: 2, command: 'proxy', length: total, source: null };
    default:
      return invalid('malformed', `unknown address family ${family}`);
  }
}

/** Node's own spelling of an IPv6 address (compressed, as remoteAddress gives it). */
function ipv6Text(raw: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(raw.readUInt16BE(i).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

const V1_LINE = /^PROXY (?:UNKNOWN(?: [^\r\n]*)?|(TCP4|TCP6) (\S+) (\S+) (\d{1,5}) (\d{1,5}))\r\n$/;

/** [PP2 2.1] "PROXY TCP4|TCP6 <src> <dst> <srcport> <dstport>\r\n" or "PROXY UNKNOWN …\r\n". */
function parseV1(bytes: Buffer): ProxyHeader {
  const end = bytes.indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    return bytes.length >= MAX_V1_HEADER_BYTES ? invalid('oversized', `no CRLF within ${MAX_V1_HEADER_BYTES} bytes`) : INCOMPLETE;
  }
  const length = end + 2;
  if (length > MAX_V1_HEADER_BYTES) return invalid('oversized', `the line is ${length} bytes, at most ${MAX_V1_HEADER_BYTES}`);
  const match = V1_LINE.exec(bytes.toString('latin1', 0, length));
  if (!match) return invalid('malformed', 'not a PROXY protocol version 1 line');
  const [, protocol, source, , sourcePort, destinationPort] = match;
  if (protocol === undefined) return { status: 'ok', version: 1, command: 'proxy', length, source: null };
  const family = protocol === 'TCP4' ? 'ipv4' : 'ipv6';
  const port = Number(sourcePort);
  if (port > 65535 || Number(destinationPort) > 65535) return invalid('malformed', 'a port over 65535');
  if (!(family === 'ipv4' ? isIPv4(source!) : isIPv6(source!))) {
    return invalid('malformed', `${JSON.stringify(source)} is not an ${protocol} address`);
  }
  const address = new SocketAddress({ address: source!, family }).address;
  return { status: 'ok', version: 1, command: 'proxy', length, source: { address, port, family: family === 'ipv4' ? 'IPv4' : 'IPv6' } };
}
