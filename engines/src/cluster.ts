/**
 * The cluster topology of docker-compose.yml's `cluster` profile on one
 * machine, from Debian's packages: PostgreSQL, Redis and InfluxDB on free
 * loopback ports, N hub nodes (`--cluster`, each on fixed free ports and its
 * own data dir, so a killed node comes back on the same ones) and HAProxy in
 * front with PROXY protocol v2 (MQTT by client id, HTTP round robin).
 *
 * One starter for the cluster tests (hub/test/helpers/cluster.ts), the
 * cluster benchmark and `npm run cluster`: each spawns the hub processes its
 * own way (tap teardowns, log files, CPU sampling), so `startNode` gets each
 * node's flags and environment and returns what the caller needs.
 */
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { startHaproxy, type Haproxy } from './haproxy.js';
import { startInfluxd, type Influxd } from './influxd.js';
import { startPostgres, type Postgres } from './postgres.js';
import { startRedis, type Redis } from './redis.js';

/** HAProxy connects to the nodes from this loopback address, which they trust for PROXY headers; direct calls from 127.0.0.1 need none. */
export const BALANCER_ADDRESS = '127.0.0.5';

export interface ClusterNodeSpec {
  /** 0-based. */
  index: number;
  /** node-1, node-2 … */
  nodeId: string;
  httpPort: number;
  mqttPort: number;
  dataDir: string;
  /** The hub's flags (after main.js): --cluster, its id, ports, data dir, InfluxDB, the admin token, and the caller's extras last. */
  args: string[];
  /** HUB_PG_URL and HUB_REDIS_URL: the URLs carry passwords, so they go in the environment, as operators are told to. */
  env: Record<string, string>;
}

export interface LocalClusterOptions<N> {
  /** Hub nodes (default 3). */
  nodes?: number;
  adminToken: string;
  /** Each node's data dir goes under it (root/node-1 …); the caller removes it. */
  root: string;
  /** --node-lease-sec; the hub's default (10) when absent. */
  leaseSec?: number;
  /** InfluxDB database the nodes write to (default `cluster`). */
  influxDatabase?: string;
  /** Extra flags for every node, after the others (a later flag wins). */
  args?: readonly string[];
  /** HAProxy in front (default true). */
  withHaproxy?: boolean;
  /** HAProxy's health check interval (default 500ms). */
  checkInterval?: string;
  /** Ports HAProxy listens on (127.0.0.1); free ones when absent. */
  haproxyPorts?: { mqtt?: number; http?: number };
  /** Starts one node's process; resolves once it listens. Nodes start together, as after a cluster-wide deploy (migrations must cope). */
  startNode(spec: ClusterNodeSpec): Promise<N>;
  /** Stops one node (called by stop(), before the engines). */
  stopNode?(node: N): Promise<unknown>;
}

export interface LocalCluster<N> {
  pg: Postgres;
  redis: Redis;
  influx: Influxd;
  influxDatabase: string;
  haproxy: Haproxy | null;
  specs: ClusterNodeSpec[];
  nodes: N[];
  /** Nodes (stopNode), HAProxy, then the engines; safe to call twice. */
  stop(): Promise<void>;
}

export async function startLocalCluster<N>(options: LocalClusterOptions<N>): Promise<LocalCluster<N>> {
  const stops: (() => Promise<unknown>)[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Last started, first stopped: nodes before the engines they use.
    for (const fn of stops.reverse()) await fn().catch(() => {});
  };
  try {
    const pg = await startPostgres();
    stops.push(() => pg.stop());
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const influx = await startInfluxd();
    stops.push(() => influx.stop());
    const influxDatabase = options.influxDatabase ?? 'cluster';

    const specs: ClusterNodeSpec[] = [];
    for (let index = 0; index < (options.nodes ?? 3); index++) {
      const nodeId = `node-${index + 1}`;
      const [httpPort, mqttPort] = [await freePort(), await freePort()];
      const dataDir = join(options.root, nodeId);
      const args = [
        '--cluster',
        '--node-id', nodeId,
        '--store', 'influx',
        '--influx-url', influx.urlFor(influxDatabase),
        '--data-dir', dataDir,
        '--admin-token', options.adminToken,
        ...(options.leaseSec === undefined ? [] : ['--node-lease-sec', String(options.leaseSec)]),
        '--proxy-protocol-from', BALANCER_ADDRESS,
        '--http-port', String(httpPort),
        '--mqtt-port', String(mqttPort),
        ...(options.args ?? []),
      ];
      specs.push({ index, nodeId, httpPort, mqttPort, dataDir, args, env: { HUB_PG_URL: pg.url, HUB_REDIS_URL: redis.url } });
    }
    const nodes: N[] = [];
    const started = await Promise.allSettled(specs.map((spec) => options.startNode(spec)));
    for (const r of started) if (r.status === 'fulfilled') nodes.push(r.value);
    const { stopNode } = options;
    if (stopNode) stops.push(() => Promise.all(nodes.map((n) => stopNode(n))));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    let haproxy: Haproxy | null = null;
    if (options.withHaproxy ?? true) {
      const backends = (port: (s: ClusterNodeSpec) => number) => specs.map((s) => ({ name: s.nodeId, port: port(s), healthPort: s.httpPort }));
      const h = await startHaproxy({
        mqttBackends: backends((s) => s.mqttPort),
        httpBackends: backends((s) => s.httpPort),
        sendProxy: true,
        sourceAddress: BALANCER_ADDRESS,
        checkInterval: options.checkInterval ?? '500ms',
        ...(options.haproxyPorts?.mqtt ? { mqttPort: options.haproxyPorts.mqtt } : {}),
        ...(options.haproxyPorts?.http ? { httpPort: options.haproxyPorts.http } : {}),
      });
      haproxy = h;
      // Before the nodes: HAProxy goes first at stop.
      stops.push(() => h.stop());
      await h.waitForServers('UP', 20_000);
    }
    return { pg, redis, influx, influxDatabase, haproxy, specs, nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
