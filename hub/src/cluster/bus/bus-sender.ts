/**
 * The sending half of the bus. Items are gathered per channel during one
 * event-loop turn and go out as few PUBLISHes as the size bounds allow,
 * at the end of the turn: Redis PUBLISH is client-bound near 14k/s on one
 * connection here, so a PUBLISH per event would cap ingest.
 *
 * Heavy, on-demand channels (telemetry) linger: their items go out every
 * `lingerMs` instead of every turn, so PUBLISHes stay few at any rate; and
 * while a PUBLISH on one finds no subscriber, the channel is not sent at all
 * for `idleProbeMs` (nobody listens: no dashboard wants telemetry anywhere),
 * then one message probes again. Skipped items take no seq: no receiver sees
 * a gap, and a node that starts listening reads the latest values back.
 *
 * Nothing waits on Redis and nothing queues without bound: while the
 * connection is down items are dropped at once; PUBLISHes sent and not yet
 * answered are capped in bytes (a stalled Redis keeps the connection open
 * but answers nothing); every drop is counted and stamped into the
 * channel's next message (`lost`, see envelope.ts) so receivers resync.
 */
import { envelopeHead, HEAD_RESERVE_BYTES } from './envelope.js';
import type { RedisClock } from './redis-clock.js';

export interface SenderLimits {
  /** Items in one message at most. */
  maxItemsPerMessage: number;
  /** Bytes of one message at most; a single item larger than this (less the head) is dropped. */
  maxMessageBytes: number;
  /** Items gathered in one turn at most, over all channels; more are dropped. */
  maxPendingItems: number;
  /** Bytes of PUBLISHes sent and not yet answered at most; more are dropped. */
  maxInFlightBytes: number;
  /** Channels whose seq is remembered (event kinds plus one inbox per target node); the oldest is forgotten past it. */
  maxChannels: number;
  /** How long items of a lingering channel gather before they are sent. */
  lingerMs: number;
  /** How long a lingering channel is not sent after a PUBLISH on it found no subscriber. */
  idleProbeMs: number;
}

/** What the sender needs of the publisher connection. */
export interface PublishLink {
  ready(): boolean;
  publish(channel: string, message: string): Promise<unknown>;
}

interface ChannelState {
  channel: string;
  /** Messages built for this channel by this process. */
  seq: number;
  /** Redis time of the latest loss no delivered message has reported yet. */
  lostAt: number | null;
  pending: unknown[];
  /** Sent every lingerMs, and skipped while nobody subscribes (see the header). */
  linger: boolean;
  /** Until when (Date.now()) a lingering channel is skipped: its last PUBLISH reached nobody. */
  idleUntil: number;
}

export class BusSender {
  readonly counters = {
    /** PUBLISHes sent, and the items and bytes in them. */
    publishedMessages: 0,
    publishedItems: 0,
    publishedBytes: 0,
    /** Items dropped because Redis was not connected. */
    droppedDown: 0,
    /** Items dropped because too many bytes were waiting for Redis's answer (a stalled Redis). */
    droppedBacklog: 0,
    /** Items dropped because one turn gathered more than maxPendingItems. */
    droppedOverflow: 0,
    /** Items that cannot be sent: larger than a message, or not JSON (BigInt, cycles). */
    droppedUnsendable: 0,
    /** PUBLISHes answered with an error or cut by a lost connection (they may or may not have arrived). */
    failedMessages: 0,
    /** Items of lingering channels not sent because nobody subscribed to them. */
    skippedUnheard: 0,
  };
  private inFlightBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly channels = new Map<string, ChannelState>();
  private dirty: ChannelState[] = [];
  private pendingItems = 0;
  private immediate: NodeJS.Immediate | null = null;
  private lingering: ChannelState[] = [];
  private lingerTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly nodeId: string,
    private readonly boot: string,
    private readonly link: PublishLink,
    private readonly clock: RedisClock,
    private readonly limits: SenderLimits,
  ) {}

  /** Bytes sent and not yet answered by Redis. */
  get backlogBytes(): number {
    return this.inFlightBytes;
  }

  /** Queues one item for the end of this turn (or of the linger); never throws, never waits. */
  enqueue(channel: string, item: unknown, linger = false): void {
    const state = this.state(channel);
    if (linger && Date.now() < state.idleUntil) {
      this.counters.skippedUnheard += 1;
      return;
    }
    if (!this.link.ready()) return this.lose(state, 'droppedDown', 1);
    if (this.pendingItems >= this.limits.maxPendingItems) return this.lose(state, 'droppedOverflow', 1);
    state.linger = linger;
    if (state.pending.length === 0) (linger ? this.lingering : this.dirty).push(state);
    state.pending.push(item);
    this.pendingItems += 1;
    if (linger) this.lingerTimer ??= setTimeout(() => this.sendGathered('lingering'), this.limits.lingerMs);
    else this.immediate ??= setImmediate(() => this.sendGathered('dirty'));
  }

  /** Sends everything gathered, lingering channels included (at stop). */
  flush(): void {
    this.sendGathered('dirty');
    this.sendGathered('lingering');
  }

  private sendGathered(which: 'dirty' | 'lingering'): void {
    if (which === 'dirty') {
      if (this.immediate) clearImmediate(this.immediate);
      this.immediate = null;
    } else {
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    const states = this[which];
    this[which] = [];
    for (const state of states) {
      const items = state.pending;
      state.pending = [];
      this.pendingItems -= items.length;
      this.sendAll(state, items);
    }
  }

  /** Resolves once every PUBLISH sent has been answered, or after `ms`. */
  async settle(ms: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  stop(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.immediate = null;
    this.lingerTimer = null;
    this.dirty = [];
    this.lingering = [];
    this.pendingItems = 0;
  }

  /** Splits a channel's items into messages within the bounds and sends each. */
  private sendAll(state: ChannelState, items: unknown[]): void {
    const budget = this.limits.maxMessageBytes - HEAD_RESERVE_BYTES;
    let parts: string[] = [];
    let bytes = 0;
    for (const item of items) {
      let text: string | undefined;
      try {
        text = JSON.stringify(item);
      } catch {
        text = undefined;
      }
      const size = text === undefined ? Infinity : Buffer.byteLength(text);
      if (text === undefined || size > budget) {
        this.lose(state, 'droppedUnsendable', 1);
        continue;
      }
      // +1 for the comma between items.
      if (parts.length > 0 && (parts.length >= this.limits.maxItemsPerMessage || bytes + size + 1 > budget)) {
        this.send(state, parts, bytes);
        parts = [];
        bytes = 0;
      }
      parts.push(text);
      bytes += size + (parts.length > 1 ? 1 : 0);
    }
    if (parts.length > 0) this.send(state, parts, bytes);
  }

  private send(state: ChannelState, parts: string[], bytes: number): void {
    // Every message built takes a seq, sent or not: a receiver sees the hole.
    state.seq += 1;
    if (!this.link.ready()) return this.lose(state, 'droppedDown', parts.length);
    // One message always may go: the bound is on what waits behind an unanswered one.
    if (this.inFlightBytes > 0 && this.inFlightBytes + bytes > this.limits.maxInFlightBytes) return this.lose(state, 'droppedBacklog', parts.length);
    const carried = state.lostAt;
    const head = envelopeHead(this.nodeId, this.boot, state.seq, carried);
    const message = `${head}${parts.join(',')}]}`;
    // The head is ASCII (node ids and boot ids are checked names).
    const size = head.length + bytes + 2;
    this.inFlightBytes += size;
    this.counters.publishedMessages += 1;
    this.counters.publishedItems += parts.length;
    this.counters.publishedBytes += size;
    const done = this.link
      .publish(state.channel, message)
      .then(
        (receivers) => {
          // Reported: forgotten, unless a newer loss came meanwhile.
          if (state.lostAt === carried) state.lostAt = null;
          if (state.linger && receivers === 0) state.idleUntil = Date.now() + this.limits.idleProbeMs;
        },
        () => {
          this.counters.failedMessages += 1;
          state.lostAt = this.clock.now();
        },
      )
      .finally(() => {
        this.inFlightBytes -= size;
        this.inFlight.delete(done);
      });
    this.inFlight.add(done);
  }

  private lose(state: ChannelState, counter: 'droppedDown' | 'droppedBacklog' | 'droppedOverflow' | 'droppedUnsendable', items: number): void {
    this.counters[counter] += items;
    state.lostAt = this.clock.now();
  }

  private state(channel: string): ChannelState {
    let state = this.channels.get(channel);
    if (state) return state;
    if (this.channels.size >= this.limits.maxChannels) {
      // A forgotten channel restarts at seq 1; its receivers take that as a restart, not a gap.
      const oldest = this.channels.keys().next().value;
      if (oldest !== undefined) this.channels.delete(oldest);
    }
    state = { channel, seq: 0, lostAt: null, pending: [], linger: false, idleUntil: 0 };
    this.channels.set(channel, state);
    return state;
  }
}
