/**
 * The receiving half of the bus: which channels this node listens to,
 * since when, and what it last saw from each sender on each of them, to
 * tell when something went missing.
 *
 * Redis delivers every PUBLISH to every connection subscribed at that
 * moment, in order; a message is missed only when the sender could not
 * publish it or the receiver was not listening. So, per (channel, sender):
 * - a sender seen before on this subscription: a skipped seq, a new boot
 *   that does not start at 1, or a `lost` stamp not seen before is a gap
 *   (it happened while we listened);
 * - a sender not seen since we (re)started listening: only a `lost` stamp
 *   later than when we started is a gap; what it lost before then was
 *   covered by the resync that follows every (re)subscription.
 * A seq that goes back on the same boot is a sender that forgot the
 * channel (bus-sender.ts maxChannels): taken as a new start.
 */
import type { Envelope } from './envelope.js';
import { parseEnvelope } from './envelope.js';
import type { RedisClock } from './redis-clock.js';

/** Node clocks meet on the Redis clock only to within a round trip: a loss this close to the start counts as after it. */
const CLOCK_MARGIN_MS = 20;

interface SenderSeen {
  boot: string;
  seq: number;
  lost: number | undefined;
}

interface Listening {
  /** The event kind, or INBOX. */
  target: string;
  /** Redis time when the SUBSCRIBE went out. */
  since: number;
  /** Whether this node's own messages on it are skipped. */
  skipOwn: boolean;
  senders: Map<string, SenderSeen>;
}

export interface ReceiverHooks {
  deliver(target: string, items: unknown[], from: string): void;
  gap(target: string): void;
}

export class BusReceiver {
  readonly counters = {
    receivedMessages: 0,
    receivedItems: 0,
    /** Own messages skipped (this node already emitted them locally). */
    ownSkipped: 0,
    /** Messages that were not an envelope. */
    malformed: 0,
    /** Gaps seen (each causes a resync), and the messages known missing by seq. */
    gaps: 0,
    missedMessages: 0,
  };
  private readonly channels = new Map<string, Listening>();

  constructor(
    private readonly ownPrefix: string,
    private readonly clock: RedisClock,
    private readonly hooks: ReceiverHooks,
    /** Senders remembered per channel (nodes of the cluster); the oldest is forgotten past it. */
    private readonly maxSenders: number,
  ) {}

  /** Called as the SUBSCRIBE goes out: from now on, losses count. */
  listen(channel: string, target: string, skipOwn: boolean): void {
    this.channels.set(channel, { target, since: this.clock.now(), skipOwn, senders: new Map() });
  }

  forget(channel: string): void {
    this.channels.delete(channel);
  }

  /** The subscriber connection closed: nothing is listened to until listen() again. */
  forgetAll(): void {
    this.channels.clear();
  }

  receive(channel: string, text: string): void {
    const listening = this.channels.get(channel);
    // Unsubscribed a moment ago: its last messages may still arrive.
    if (listening === undefined) return;
    if (listening.skipOwn && text.startsWith(this.ownPrefix)) {
      this.counters.ownSkipped += 1;
      return;
    }
    const envelope = parseEnvelope(text);
    if (envelope === null) {
      this.counters.malformed += 1;
      return;
    }
    this.counters.receivedMessages += 1;
    this.counters.receivedItems += envelope.items.length;
    if (this.missedSomething(listening, envelope)) {
      this.counters.gaps += 1;
      this.hooks.gap(listening.target);
    }
    this.hooks.deliver(listening.target, envelope.items, envelope.from);
  }

  private missedSomething(listening: Listening, e: Envelope): boolean {
    const seen = listening.senders.get(e.from);
    const now: SenderSeen = { boot: e.boot, seq: e.seq, lost: e.lost };
    if (seen === undefined) {
      if (listening.senders.size >= this.maxSenders) {
        const oldest = listening.senders.keys().next().value;
        if (oldest !== undefined) listening.senders.delete(oldest);
      }
      listening.senders.set(e.from, now);
      return e.lost !== undefined && e.lost >= listening.since - CLOCK_MARGIN_MS;
    }
    listening.senders.set(e.from, now);
    if (seen.boot !== e.boot) return e.seq !== 1 || e.lost !== undefined;
    const newLoss = e.lost !== undefined && e.lost !== seen.lost;
    if (e.seq > seen.seq + 1) {
      this.counters.missedMessages += e.seq - seen.seq - 1;
      return true;
    }
    return newLoss;
  }
}
