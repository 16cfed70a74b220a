/**
 * Device connections that have not authenticated yet (an MQTT socket before
 * its CONNECT is accepted, a device WebSocket before its `auth` frame). They
 * cost a socket and memory but are nobody yet, so they are kept apart from
 * the device budget (--max-connections counts authenticated devices only)
 * and bounded on their own:
 *
 * - each has --auth-timeout-ms to authenticate, then it is closed;
 * - one address may hold at most --max-unauthenticated-per-ip of them; more
 *   are refused (MQTT CONNACK 3, HTTP 429);
 * - all addresses together hold at most --max-unauthenticated; a new one past
 *   that closes the oldest (which is the most likely to be idle), so a few
 *   addresses holding their share cannot keep a real device from trying.
 *
 * The per-address map has at most --max-unauthenticated entries: an entry
 * exists only while that address holds a connection here.
 */
import type { Transport } from '@iot-hub/protocol';

export type UnauthenticatedClose = 'timeout' | 'evicted';

export interface UnauthenticatedOptions {
  maxTotal: number;
  maxPerIp: number;
  timeoutMs: number;
}

/** One connection waiting to authenticate; hand it back with leave() once it did, or closed. */
export interface PendingConnection {
  readonly ip: string;
  readonly transport: Transport;
}

interface Entry extends PendingConnection {
  close: (why: UnauthenticatedClose) => void;
  timer: NodeJS.Timeout;
}

type PerTransport = Record<Transport, number>;

export class UnauthenticatedConnections {
  /** In arrival order: the first is the oldest, closed first when all are taken. */
  private readonly entries = new Set<Entry>();
  private readonly perIp = new Map<string, number>();
  /** For /metrics. */
  readonly counters: { refused: PerTransport; timedOut: PerTransport; evicted: PerTransport } = {
    refused: { mqtt: 0, ws: 0 },
    timedOut: { mqtt: 0, ws: 0 },
    evicted: { mqtt: 0, ws: 0 },
  };

  constructor(private readonly options: UnauthenticatedOptions) {}

  get size(): number {
    return this.entries.size;
  }

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /**
   * Takes a new connection, which `close` ends when its time is up or it is
   * evicted; null when its address already holds its share (counted).
   */
  enter(ip: string | undefined, transport: Transport, close: (why: UnauthenticatedClose) => void): PendingConnection | null {
    const address = ip ?? 'unknown';
    const held = this.perIp.get(address) ?? 0;
    if (held >= this.options.maxPerIp) {
      this.counters.refused[transport] += 1;
      return null;
    }
    if (this.entries.size >= this.options.maxTotal) {
      const oldest = this.entries.values().next().value;
      if (oldest) this.expire(oldest, 'evicted');
    }
    const entry: Entry = { ip: address, transport, close, timer: setTimeout(() => this.expire(entry, 'timeout'), this.options.timeoutMs) };
    entry.timer.unref();
    this.entries.add(entry);
    this.perIp.set(address, held + 1);
    return entry;
  }

  /** The connection authenticated or closed; a second call does nothing. */
  leave(pending: PendingConnection): void {
    const entry = pending as Entry;
    if (!this.entries.delete(entry)) return;
    clearTimeout(entry.timer);
    const held = (this.perIp.get(entry.ip) ?? 1) - 1;
    if (held <= 0) this.perIp.delete(entry.ip);
    else this.perIp.set(entry.ip, held);
  }

  /** Forgets every connection without closing it (their owners close them at stop). */
  stop(): void {
    for (const entry of [...this.entries]) this.leave(entry);
  }

  private expire(entry: Entry, why: UnauthenticatedClose): void {
    this.leave(entry);
    (why === 'timeout' ? this.counters.timedOut : this.counters.evicted)[entry.transport] += 1;
    entry.close(why);
  }
}
