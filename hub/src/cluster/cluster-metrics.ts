/**
 * /metrics of a cluster node, read at scrape time: the bus (bus-metrics.ts),
 * this node's claims, kicks and fencing state, its PostgreSQL pool, the live
 * relay and the registry sync. Names: iot_hub_cluster_*, iot_hub_bus_*,
 * iot_hub_pg_*; each is in docs/cluster.md ("Watching a cluster").
 */
import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import { registerBusMetrics } from './bus/bus-metrics.js';
import type { ClusterNode, FenceState } from './cluster-node.js';
import type { LiveRelay } from './live-relay.js';
import type { RegistrySync } from './registry/registry-sync.js';
import type { AlertOwnership } from './alerts/alert-ownership.js';

export interface ClusterMetricSources {
  node: Pick<ClusterNode, 'counters' | 'state' | 'bus' | 'db'>;
  relay: Pick<LiveRelay, 'counters' | 'telemetryListened'>;
  registrySync: Pick<RegistrySync, 'counters'>;
  alerts?: Pick<AlertOwnership, 'counters' | 'size'>;
}

const FENCE_STATES: readonly FenceState[] = ['healthy', 'holding', 'fenced'];

function counter(registry: PromRegistry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function registerClusterMetrics(registry: PromRegistry, src: ClusterMetricSources): void {
  const { node, relay, registrySync, alerts } = src;
  registerBusMetrics(registry, node.bus);
  if (alerts) {
    new Gauge({
      name: 'iot_hub_cluster_alert_devices',
      help: 'Devices whose alert rules this node evaluates (claimed here, or taken over from a lost node)',
      registers: [registry],
      collect() {
        this.set(alerts.size);
      },
    });
    counter(registry, 'iot_hub_cluster_alert_adoptions_total', 'Devices whose open alerts this node took over from PostgreSQL', () => alerts.counters.adopted);
    counter(registry, 'iot_hub_cluster_alert_releases_total', 'Devices this node stopped evaluating: another node claimed them', () => alerts.counters.released);
    counter(registry, 'iot_hub_cluster_alert_rule_syncs_total', 'Times rules or silences changed on another node were applied here', () => alerts.counters.ruleSyncs);
    counter(registry, 'iot_hub_cluster_alert_poll_failures_total', 'Failed checks of the shared rules version and device owners (retried at the next poll)', () => alerts.counters.pollFailures);
  }
  new Gauge({
    name: 'iot_hub_cluster_state',
    help: 'This node in the cluster: 1 for its state, 0 for the others: healthy, holding (PostgreSQL unreachable from every node: devices kept, new ones refused) or fenced (cut off: devices dropped, /healthz fails)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      for (const state of FENCE_STATES) this.set({ state }, node.state === state ? 1 : 0);
    },
  });
  counter(registry, 'iot_hub_cluster_claims_total', 'Device sessions claimed in PostgreSQL by this node (each connect, with a new epoch)', () => node.counters.claims);
  counter(registry, 'iot_hub_cluster_claims_refused_total', 'Device connects refused because the claim failed: fenced, or PostgreSQL unreachable (CONNACK 3 / 503)', () => node.counters.claimsRefused);
  counter(registry, 'iot_hub_cluster_kicks_sent_total', 'Devices claimed while online on another node, which was told to close its older session', () => node.counters.kicksSent);
  counter(registry, 'iot_hub_cluster_fences_total', 'Times this node fenced itself (could not renew its lease while other nodes could, or Redis was gone too)', () => node.counters.fences);
  counter(registry, 'iot_hub_cluster_remote_events_total', 'Live events received from other nodes over the bus', () => relay.counters.remoteEvents);
  counter(registry, 'iot_hub_cluster_remote_unknown_device_total', 'Live events from other nodes about a device this node did not know yet (the registry sync runs at once)', () => relay.counters.remoteUnknownDevice);
  counter(registry, 'iot_hub_cluster_stale_presence_total', 'Presence events from other nodes older (by ownership epoch) than what this node holds: dropped, not shown', () => relay.counters.stalePresence);
  new Gauge({
    name: 'iot_hub_cluster_telemetry_listening',
    help: "1 while this node listens to other nodes' telemetry: only while one of its dashboards wants telemetry",
    registers: [registry],
    collect() {
      this.set(relay.telemetryListened ? 1 : 0);
    },
  });
  counter(registry, 'iot_hub_cluster_latest_refreshes_total', 'Times the latest values of devices on other nodes were read back from InfluxDB (on listening to telemetry again, after a bus gap)', () => relay.counters.latestRefreshes);
  counter(registry, 'iot_hub_cluster_latest_refresh_failures_total', "Reads of those latest values that failed (InfluxDB unreachable): they show with each device's next reading", () => relay.counters.latestRefreshFailures);
  counter(registry, 'iot_hub_cluster_registry_syncs_total', 'Reads of the device registry changed in PostgreSQL (every 2 s, and at once on a bus registry event)', () => registrySync.counters.polls);
  counter(registry, 'iot_hub_cluster_registry_sync_failures_total', 'Those reads that failed (PostgreSQL unreachable); the next one catches up', () => registrySync.counters.failedPolls);
  counter(registry, 'iot_hub_cluster_registry_changes_total', 'Device records added, updated or removed here because another node changed them', () => registrySync.counters.applied);
  new Gauge({
    name: 'iot_hub_pg_pool_connections',
    help: "Connections of this node's PostgreSQL pool (at most --pg-max-connections): busy (running a query or transaction) or idle",
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const s = node.db.poolStats();
      this.set({ state: 'busy' }, s.total - s.idle);
      this.set({ state: 'idle' }, s.idle);
    },
  });
  new Gauge({
    name: 'iot_hub_pg_pool_waiting',
    help: 'Queries and transactions waiting for a pool connection: above 0 for long, raise --pg-max-connections (and PostgreSQL max_connections)',
    registers: [registry],
    collect() {
      this.set(node.db.poolStats().waiting);
    },
  });
  counter(registry, 'iot_hub_pg_commits_total', 'Writes committed to PostgreSQL by this node (transactions and single writing statements; the lease connection not counted)', () => node.db.commits);
}
