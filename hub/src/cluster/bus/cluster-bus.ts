/**
 * The message bus between hub nodes, on Redis pub/sub: at most once, never
 * the only copy of anything (docs/design.md: cluster mode). One publisher and one
 * subscriber connection per node; exact channels only (channels.ts); the
 * items of one turn go out batched (bus-sender.ts); gaps and reconnects
 * are detected (bus-receiver.ts) and reported through `onResync`, once per
 * turn, after the node is listening again, so what the caller rebuilds
 * then (dashboards, reconcilers) includes everything missed.
 *
 * Redis being down, slow or restarted never blocks or fails the caller:
 * publishes are dropped and counted, the connections retry by themselves.
 * The Redis URL carries the password: it is given to ioredis and never
 * logged (log lines name the connection, not the URL).
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { SampledLog } from '../../sampled-log.js';
import { BusReceiver } from './bus-receiver.js';
import { BusSender, type SenderLimits } from './bus-sender.js';
import { checkName, checkPrefix, eventChannel, inboxChannel, INBOX } from './channels.js';
import { ownPrefix } from './envelope.js';
import type { HubBusEvents, HubInboxItem } from './bus-messages.js';
import { RedisClock } from './redis-clock.js';

export interface BusLimits extends SenderLimits {
  /** Senders remembered per channel for gap detection: well above the number of nodes. */
  maxSenders: number;
}

export const DEFAULT_BUS_LIMITS: Readonly<BusLimits> = {
  // 1,000 telemetry items are about 100 KB: one JSON.parse of about a millisecond on a receiver.
  maxItemsPerMessage: 1000,
  // Far below Redis's default pubsub output limit (8 MB for 60 s, 32 MB at once) for every subscriber.
  maxMessageBytes: 256 * 1024,
  maxPendingItems: 100_000,
  maxInFlightBytes: 16 * 1024 * 1024,
  maxChannels: 4096,
  maxSenders: 1024,
  // Telemetry to other nodes' dashboards: at most this much later, in 20 PUBLISHes a second per node whatever the rate.
  lingerMs: 50,
  // A node whose dashboard starts watching telemetry hears it within this (and reads the latest values back at once).
  idleProbeMs: 1_000,
};

/** Why the caller must rebuild what it derived from the bus. */
export interface ResyncEvent<K extends string = string> {
  /** 'reconnect': the subscriber connection was lost and is back; 'gap': messages from a node went missing. */
  reason: 'reconnect' | 'gap';
  /** What may have been missed: event kinds, and `inbox` for this node's inbox. */
  kinds: Array<K | typeof INBOX>;
}

export interface ClusterBusOptions<E, I> {
  /** redis://[:password@]host:port[/db] */
  redisUrl: string;
  nodeId: string;
  /** Starts every channel name; two clusters may share one Redis with different prefixes. Default `iot-hub`. */
  prefix?: string;
  /** Event kinds listened to from start(); others only after want(kind, true). */
  listen?: ReadonlyArray<keyof E & string>;
  /** Heavy kinds only some nodes listen to (telemetry): sent every lingerMs, and not at all while nobody subscribes. */
  linger?: ReadonlyArray<keyof E & string>;
  /** Whether this node receives its own events back. Default false: it emitted them locally already. */
  echo?: boolean;
  onEvent?: <K extends keyof E & string>(kind: K, item: E[K], from: string) => void;
  onInbox?: (item: I, from: string) => void;
  onResync?: (event: ResyncEvent<keyof E & string>) => void;
  limits?: Partial<BusLimits>;
  /** How often the subscriber connection is pinged; one unanswered ping (Redis hung) reconnects it. Default 5 s. */
  pingIntervalMs?: number;
  log: Logger;
}

export class ClusterBus<E extends object = HubBusEvents, I = HubInboxItem> {
  readonly nodeId: string;
  private readonly prefix: string;
  private readonly boot = randomBytes(6).toString('hex');
  private readonly clock = new RedisClock();
  private readonly sender: BusSender;
  private readonly receiver: BusReceiver;
  private readonly sampled: SampledLog;
  /** Channels listened to (wanted), with the kind each carries. */
  private readonly wanted = new Map<string, string>();
  private readonly ownInbox: string;
  private readonly lingerKinds: ReadonlySet<string>;
  private pub: Redis | null = null;
  private sub: Redis | null = null;
  /** Whether the subscriber has been subscribed once: a later subscription is a reconnect. */
  private subscribedOnce = false;
  private subscribed = false;
  private stopping = false;
  private pingTimer: NodeJS.Timeout | null = null;
  /** Bumped on every subscriber (re)connect, so a ping answered by an old connection is ignored. */
  private subGeneration = 0;
  private pingOutstanding = false;
  private pendingResync: { reason: ResyncEvent['reason']; kinds: Set<string> } | null = null;
  private resyncImmediate: NodeJS.Immediate | null = null;
  private readonly own = {
    resyncs: 0,
    reconnects: 0,
    /** Subscriber connections dropped because Redis did not answer a ping. */
    stalls: 0,
    handlerErrors: 0,
  };

  constructor(private readonly options: ClusterBusOptions<E, I>) {
    this.nodeId = checkName('node id', options.nodeId);
    this.prefix = checkPrefix(options.prefix ?? 'iot-hub');
    const limits = { ...DEFAULT_BUS_LIMITS, ...options.limits };
    this.ownInbox = inboxChannel(this.prefix, this.nodeId);
    this.lingerKinds = new Set(options.linger ?? []);
    this.sampled = new SampledLog(options.log);
    // The publisher connection exists from start(); ioredis rejects at once when it is not connected (no offline queue).
    const link = { ready: () => this.pub?.status === 'ready', publish: (channel: string, message: string) => this.publisher().publish(channel, message) };
    this.sender = new BusSender(this.nodeId, this.boot, link, this.clock, limits);
    this.receiver = new BusReceiver(
      ownPrefix(this.nodeId),
      this.clock,
      { deliver: (target, items, from) => this.deliver(target, items, from), gap: (target) => this.resync('gap', [target]) },
      limits.maxSenders,
    );
    this.wanted.set(this.ownInbox, INBOX);
    for (const kind of options.listen ?? []) this.wanted.set(eventChannel(this.prefix, checkName('event kind', kind)), kind);
  }

  /** Counters for /metrics, read at scrape time. */
  get counters(): Readonly<BusSender['counters'] & BusReceiver['counters'] & ClusterBus['own']> {
    return { ...this.sender.counters, ...this.receiver.counters, ...this.own };
  }

  /** Connection states and the send backlog, for /metrics and /healthz details. */
  status(): { publisher: boolean; subscriber: boolean; backlogBytes: number } {
    return { publisher: this.pub?.status === 'ready', subscriber: this.subscribed, backlogBytes: this.sender.backlogBytes };
  }

  /** Connects both connections in the background: never waits for Redis (see whenConnected). */
  start(): void {
    const url = this.options.redisUrl;
    this.pub = new Redis(url, { ...connectionOptions(), connectionName: `${this.prefix}:${this.nodeId}:pub` });
    this.sub = new Redis(url, { ...connectionOptions(), connectionName: `${this.prefix}:${this.nodeId}:sub` });
    const pub = this.pub;
    const sub = this.sub;
    this.watch(pub, 'publisher', () => this.syncClock(pub));
    this.watch(sub, 'subscriber', () => this.subscribeAll(sub));
    sub.on('close', () => {
      this.subscribed = false;
      this.receiver.forgetAll();
    });
    sub.on('message', (channel: string, message: string) => this.receiver.receive(channel, message));
    const pingMs = this.options.pingIntervalMs ?? 5_000;
    this.pingTimer = setInterval(() => this.ping(sub), pingMs);
    this.pingTimer.unref();
  }

  /** Resolves once both connections are up and subscribed (tests; a caller that wants to wait at start). */
  async whenConnected(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(this.subscribed && this.pub?.status === 'ready')) {
      if (Date.now() > deadline) throw new Error(`bus of node ${this.nodeId} not connected to Redis within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Publishes one live event to every node (batched with the rest of this turn). Never throws, never waits. */
  publish<K extends keyof E & string>(kind: K, item: E[K]): void {
    this.sender.enqueue(eventChannel(this.prefix, kind), item, this.lingerKinds.has(kind));
  }

  /** Sends one request to one node's inbox (batched with the rest of this turn). Never throws for Redis, never waits. */
  send(nodeId: string, item: I): void {
    this.sender.enqueue(inboxChannel(this.prefix, checkName('node id', nodeId)), item);
  }

  /** Listens to `kind` from every node, or stops: for the heavy kinds, only while a dashboard wants them. */
  want(kind: keyof E & string, on: boolean): void {
    const channel = eventChannel(this.prefix, checkName('event kind', kind));
    if (on === this.wanted.has(channel)) return;
    const sub = this.sub;
    if (on) {
      this.wanted.set(channel, kind);
      // Not connected: subscribeAll() takes it at the next 'ready'. Connected (even while that first SUBSCRIBE is on its way): now.
      if (sub?.status !== 'ready') return;
      this.receiver.listen(channel, kind, !this.options.echo);
      sub.subscribe(channel).catch((err: Error) => this.options.log.debug({ err: err.message, kind }, 'bus subscribe failed; redone at reconnect'));
    } else {
      this.wanted.delete(channel);
      this.receiver.forget(channel);
      if (sub?.status !== 'ready') return;
      sub.unsubscribe(channel).catch((err: Error) => this.options.log.debug({ err: err.message, kind }, 'bus unsubscribe failed'));
    }
  }

  /** Whether `kind` is listened to. */
  wants(kind: keyof E & string): boolean {
    return this.wanted.has(eventChannel(this.prefix, kind));
  }

  /** Sends what this turn gathered, waits up to 1 s for Redis's answers, and closes both connections. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    if (this.resyncImmediate) clearImmediate(this.resyncImmediate);
    this.resyncImmediate = null;
    this.sender.flush();
    await this.sender.settle(1_000);
    this.sender.stop();
    this.pub?.disconnect();
    this.sub?.disconnect();
    this.subscribed = false;
  }

  private publisher(): Redis {
    if (!this.pub) throw new Error('ClusterBus: publish before start()');
    return this.pub;
  }

  /** Logs a connection going down once and coming back once (ioredis retries on its own meanwhile). */
  private watch(conn: Redis, name: string, onReady: () => void): void {
    let up = false;
    conn.on('ready', () => {
      if (this.stopping) return;
      if (!up && this.subscribedOnce) this.options.log.info({ node: this.nodeId, connection: name }, 'bus connection to Redis is back');
      up = true;
      onReady();
    });
    conn.on('close', () => {
      if (this.stopping || !up) return;
      up = false;
      this.options.log.warn({ node: this.nodeId, connection: name }, 'bus connection to Redis lost: live events dropped until it is back');
    });
    // ioredis errors name host and port, never the password; one line per 10 s while Redis stays away.
    conn.on('error', (err: Error) => {
      if (!this.stopping) this.sampled.warn(`bus-${name}`, { node: this.nodeId, err: err.message }, 'bus connection to Redis failed');
    });
  }

  private syncClock(conn: Redis): void {
    conn.time().then(
      (reply) => this.clock.sync(reply),
      () => undefined,
    );
  }

  /** (Re)subscribes every wanted channel, then, after a reconnect, asks for a resync. */
  private subscribeAll(sub: Redis): void {
    this.subGeneration += 1;
    this.pingOutstanding = false;
    this.own.reconnects += this.subscribedOnce ? 1 : 0;
    // TIME before SUBSCRIBE (allowed only before): the clock is fresh for the listen() stamps.
    this.syncClock(sub);
    const channels = [...this.wanted.keys()];
    for (const [channel, target] of this.wanted) this.receiver.listen(channel, target, target !== INBOX && !this.options.echo);
    const generation = this.subGeneration;
    sub.subscribe(...channels).then(
      () => {
        if (generation !== this.subGeneration || this.stopping) return;
        this.subscribed = true;
        const again = this.subscribedOnce;
        this.subscribedOnce = true;
        // Listening again: whatever is rebuilt now includes what was missed while away.
        if (again) this.resync('reconnect', [...this.wanted.values()]);
      },
      (err: Error) => this.options.log.debug({ err: err.message }, 'bus subscribe failed; redone at reconnect'),
    );
  }

  /** A ping still unanswered one interval later means Redis hangs: reconnect, which resyncs. */
  private ping(sub: Redis): void {
    if (!this.subscribed || this.stopping) return;
    if (this.pingOutstanding) {
      this.own.stalls += 1;
      this.options.log.warn({ node: this.nodeId }, 'Redis did not answer the bus ping: reconnecting the subscriber');
      this.pingOutstanding = false;
      sub.disconnect(true);
      return;
    }
    this.pingOutstanding = true;
    const generation = this.subGeneration;
    sub.ping().then(
      () => {
        if (generation === this.subGeneration) this.pingOutstanding = false;
      },
      () => undefined,
    );
  }

  private resync(reason: ResyncEvent['reason'], kinds: string[]): void {
    const pending = (this.pendingResync ??= { reason, kinds: new Set() });
    if (reason === 'reconnect') pending.reason = 'reconnect';
    for (const k of kinds) pending.kinds.add(k);
    this.resyncImmediate ??= setImmediate(() => {
      this.resyncImmediate = null;
      const event = this.pendingResync;
      this.pendingResync = null;
      if (!event || this.stopping) return;
      this.own.resyncs += 1;
      this.options.log.info({ node: this.nodeId, reason: event.reason, kinds: [...event.kinds] }, 'bus messages may be missing: resync');
      this.call(() => this.options.onResync?.({ reason: event.reason, kinds: [...event.kinds] as ResyncEvent<keyof E & string>['kinds'] }));
    });
  }

  private deliver(target: string, items: unknown[], from: string): void {
    if (target === INBOX) {
      const onInbox = this.options.onInbox;
      if (onInbox) for (const item of items) this.call(() => onInbox(item as I, from));
      return;
    }
    const onEvent = this.options.onEvent;
    const kind = target as keyof E & string;
    if (onEvent) for (const item of items) this.call(() => onEvent(kind, item as E[typeof kind], from));
  }

  /** One funnel for the caller's handlers: a throwing handler is counted and logged, the rest of the batch goes on. */
  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.own.handlerErrors += 1;
      this.sampled.error('bus-handler', { node: this.nodeId, err: (err as Error).message }, 'a bus handler threw');
    }
  }
}

/**
 * Both connections: no offline queue (a command while down fails at once:
 * nothing queues behind an outage), nothing resent after a reconnect (at
 * most once), in-flight commands failed as soon as the connection drops,
 * our own resubscription (to know when it is done), quick retries.
 */
function connectionOptions(): RedisOptions {
  return {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    keepAlive: 10_000,
    retryStrategy: (times: number) => Math.min(50 * 2 ** times, 1_000),
  };
}
