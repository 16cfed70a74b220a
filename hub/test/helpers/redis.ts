/**
 * A real Redis server for a test (engines/), ClusterBus nodes on it and a
 * plain admin connection, all closed at teardown before the server stops.
 */
import pino from 'pino';
import { Redis } from 'ioredis';
import { engineForTest, startRedis, type Redis as RedisServer } from '@iot-hub/engines';
import { ClusterBus, type ClusterBusOptions, type ResyncEvent } from '../../src/cluster/bus/cluster-bus.js';
import type { HubBusEvents, HubInboxItem } from '../../src/cluster/bus/bus-messages.js';

interface TapLike {
  teardown(fn: () => unknown): void;
  plan(n: number, comment?: string): void;
  fail(message: string): void;
}

/** One node's bus and everything it received, in order. */
export interface TestNode {
  bus: ClusterBus;
  events: Array<{ kind: string; item: unknown; from: string }>;
  inbox: Array<{ item: HubInboxItem; from: string }>;
  resyncs: ResyncEvent[];
}

export interface RedisForTest {
  server: RedisServer;
  /** A started bus for node `nodeId`, stopped at teardown. */
  node(nodeId: string, options?: Partial<ClusterBusOptions<HubBusEvents, HubInboxItem>>): TestNode;
  /** A plain connection (CONFIG, INFO, PUBLISH by hand), closed at teardown. */
  admin(): Redis;
}

export async function redisForTest(t: TapLike): Promise<RedisForTest | null> {
  const closers: Array<() => Promise<unknown>> = [];
  // Teardowns run in the order registered: buses and clients close before the server stops.
  t.teardown(() => Promise.all(closers.map((c) => c().catch(() => undefined))));
  const server = await engineForTest(t, () => startRedis());
  if (!server) return null;
  return {
    server,
    node(nodeId, options = {}) {
      const node: TestNode = { bus: undefined as unknown as ClusterBus, events: [], inbox: [], resyncs: [] };
      node.bus = new ClusterBus({
        redisUrl: server.url,
        nodeId,
        log: pino({ level: 'silent' }),
        listen: ['presence', 'command'],
        onEvent: (kind, item, from) => node.events.push({ kind, item, from }),
        onInbox: (item, from) => node.inbox.push({ item, from }),
        onResync: (e) => node.resyncs.push(e),
        ...options,
      });
      node.bus.start();
      closers.push(() => node.bus.stop());
      return node;
    },
    admin() {
      const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      closers.push(async () => client.disconnect());
      return client;
    },
  };
}

/** Polls until `check` holds; fails with `what` after `ms`. */
export async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** PUBLISH calls Redis has counted since its last CONFIG RESETSTAT. */
export async function publishCalls(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  const m = /cmdstat_publish:calls=(\d+)/.exec(info);
  return m ? Number(m[1]) : 0;
}
