/**
 * The balancers whose PROXY protocol headers are believed
 * (--proxy-protocol-from): addresses and CIDR ranges, IPv4 or IPv6. Only a
 * connection from one of them may (and must) say whom it carries; anyone
 * else could claim any address and walk around every per-IP limit.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Checks one entry: "10.0.0.5", "10.0.0.0/24", "fd00::/8"; throws a message naming it. */
export function checkTrustedSource(entry: string): string {
  const [address, prefix, extra] = entry.split('/');
  const family = isIPv4(address ?? '') ? 'ipv4' : isIPv6(address ?? '') ? 'ipv6' : null;
  if (family === null || extra !== undefined) throw new Error(`${JSON.stringify(entry)} is not an IP address or CIDR range (e.g. 10.0.0.5, 10.0.0.0/24, fd00::/8)`);
  if (prefix !== undefined) {
    const bits = family === 'ipv4' ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) throw new Error(`${JSON.stringify(entry)}: the prefix length must be 0..${bits}`);
  }
  return entry;
}

export class TrustedSources {
  private readonly list = new BlockList();

  /** Entries as checkTrustedSource() accepts them. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address, prefix] = entry.split('/') as [string, string | undefined];
      const family = isIPv4(address) ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, Number(prefix), family);
    }
  }

  /** Whether a connection from `address` comes from a trusted balancer (IPv4-mapped IPv6 counts as IPv4). */
  has(address: string | undefined): boolean {
    if (address === undefined) return false;
    return this.list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  }
}
