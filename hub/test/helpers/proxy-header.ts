/** PROXY protocol headers written by hand (haproxy's doc/proxy-protocol.txt), as a balancer sends them. */
import { isIPv4 } from 'node:net';

export const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** Version 2, PROXY over TCP, from `source` to `destination` (IPv4 or IPv6 alike); `tlvs` appended as given. */
export function proxyV2(source: { address: string; port: number }, destination = { address: source.address, port: 1883 }, tlvs = Buffer.alloc(0)): Buffer {
  const v4 = isIPv4(source.address);
  const addresses = v4 ? Buffer.alloc(12) : Buffer.alloc(36);
  if (v4) {
    Buffer.from(source.address.split('.').map(Number)).copy(addresses, 0);
    Buffer.from(destination.address.split('.').map(Number)).copy(addresses, 4);
    addresses.writeUInt16BE(source.port, 8);
    addresses.writeUInt16BE(destination.port, 10);
  } else {
    ipv6Bytes(source.address).copy(addresses, 0);
    ipv6Bytes(destination.address).copy(addresses, 16);
    addresses.writeUInt16BE(source.port, 32);
    addresses.writeUInt16BE(destination.port, 34);
  }
  return v2Frame(0x21, v4 ? 0x11 : 0x21, Buffer.concat([addresses, tlvs]));
}

/** Version 2, LOCAL (a balancer's health check), no addresses. */
export function proxyV2Local(): Buffer {
  return v2Frame(0x20, 0x00, Buffer.alloc(0));
}

/** Any version 2 frame: version/command byte, family/transport byte, the rest with its length in front. */
export function v2Frame(versionCommand: number, familyTransport: number, body: Buffer, declaredLength = body.length): Buffer {
  const fixed = Buffer.alloc(4);
  fixed[0] = versionCommand;
  fixed[1] = familyTransport;
  fixed.writeUInt16BE(declaredLength, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, body]);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const h = head === '' ? [] : head.split(':');
  const tl = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...h, ...new Array<string>(8 - h.length - tl.length).fill('0'), ...tl] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
