/**
 * /metrics for the cluster bus, read from its counters at scrape time:
 * what went out and came in, what was dropped and why, the gaps and
 * resyncs it caused, and whether both Redis connections are up.
 */
import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import type { ClusterBus } from './cluster-bus.js';

type Counters = ClusterBus['counters'];

const COUNTERS: ReadonlyArray<{ name: string; help: string; read: (c: Counters) => number }> = [
  { name: 'iot_hub_bus_published_messages_total', help: 'PUBLISHes sent to Redis by this node (each carries up to a turn of items of one channel)', read: (c) => c.publishedMessages },
  { name: 'iot_hub_bus_published_items_total', help: 'Events and inbox requests sent in those PUBLISHes', read: (c) => c.publishedItems },
  { name: 'iot_hub_bus_published_bytes_total', help: 'Bytes of those PUBLISHes', read: (c) => c.publishedBytes },
  { name: 'iot_hub_bus_skipped_unheard_items_total', help: 'Telemetry items not sent because no node listened (no dashboard wants telemetry anywhere)', read: (c) => c.skippedUnheard },
  { name: 'iot_hub_bus_failed_messages_total', help: 'PUBLISHes answered with an error or cut by a lost connection (they may have arrived)', read: (c) => c.failedMessages },
  { name: 'iot_hub_bus_received_messages_total', help: 'Bus messages received from other nodes', read: (c) => c.receivedMessages },
  { name: 'iot_hub_bus_received_items_total', help: 'Items in those messages', read: (c) => c.receivedItems },
  { name: 'iot_hub_bus_malformed_messages_total', help: 'Messages on bus channels that were not a bus envelope', read: (c) => c.malformed },
  { name: 'iot_hub_bus_gaps_total', help: 'Times messages from another node went missing (each asks for a resync)', read: (c) => c.gaps },
  { name: 'iot_hub_bus_missed_messages_total', help: 'Messages known missing from sequence numbers', read: (c) => c.missedMessages },
  { name: 'iot_hub_bus_resyncs_total', help: 'Resyncs asked of the hub (dashboards, reconcilers) after a gap or a reconnect', read: (c) => c.resyncs },
  { name: 'iot_hub_bus_reconnects_total', help: 'Times the subscriber connection came back after being lost', read: (c) => c.reconnects },
  { name: 'iot_hub_bus_stalls_total', help: 'Subscriber connections dropped because Redis did not answer a ping', read: (c) => c.stalls },
  { name: 'iot_hub_bus_handler_errors_total', help: 'Bus items whose handler threw', read: (c) => c.handlerErrors },
];

const DROP_REASONS = { down: 'droppedDown', backlog: 'droppedBacklog', overflow: 'droppedOverflow', unsendable: 'droppedUnsendable' } as const;

export function registerBusMetrics(registry: PromRegistry, bus: Pick<ClusterBus, 'counters' | 'status'>): void {
  for (const { name, help, read } of COUNTERS) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(bus.counters));
      },
    });
  }
  new Counter({
    name: 'iot_hub_bus_dropped_items_total',
    help: 'Bus items not sent: Redis down, too much waiting for Redis (backlog), too many in one turn (overflow), too large or not JSON (unsendable)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      const c = bus.counters;
      for (const [reason, key] of Object.entries(DROP_REASONS)) this.inc({ reason }, c[key]);
    },
  });
  new Gauge({
    name: 'iot_hub_bus_connected',
    help: '1 while the bus connection to Redis is up (publisher) or up and subscribed (subscriber)',
    labelNames: ['connection'],
    registers: [registry],
    collect() {
      const s = bus.status();
      this.set({ connection: 'publisher' }, s.publisher ? 1 : 0);
      this.set({ connection: 'subscriber' }, s.subscriber ? 1 : 0);
    },
  });
  new Gauge({
    name: 'iot_hub_bus_backlog_bytes',
    help: 'Bytes published and not yet answered by Redis',
    registers: [registry],
    collect() {
      this.set(bus.status().backlogBytes);
    },
  });
}
