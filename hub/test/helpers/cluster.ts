/**
 * A real cluster for a test: PostgreSQL, Redis and InfluxDB from Debian's
 * packages, N hub nodes as child processes (`node hub/dist/main.js
 * --cluster …`, as users run them) on fixed free ports so a killed node comes
 * back on the same ones, and HAProxy in front with PROXY protocol v2 (MQTT
 * by client id, HTTP round-robin). Teardown stops all of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineForTest, startLocalCluster, type Haproxy, type Influxd, type Postgres, type Redis } from '@iot-hub/engines';
import { attachDevice, type TestDevice } from '../commands/test-device.js';
import type { TestHub } from './hub.js';
import { spawnHub, type HubProcess } from './hub-process.js';

interface TapLike {
  teardown(fn: () => unknown): void;
  plan(n: number, comment?: string): void;
  fail(message: string): void;
}

export const CLUSTER_ADMIN_TOKEN = 'cluster-test-admin-token-0123456789';

export interface ClusterNodeProcess {
  readonly nodeId: string;
  readonly httpPort: number;
  readonly mqttPort: number;
  /** The running process; null while killed. */
  readonly process: HubProcess | null;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data dir. */
  restart(): Promise<void>;
  /** GET /healthz of this node. */
  health(): Promise<{ status: number; body: Record<string, unknown> }>;
}

export interface TestCluster {
  pg: Postgres;
  redis: Redis;
  influx: Influxd;
  /** The database the nodes write telemetry to. */
  influxDatabase: string;
  haproxy: Haproxy | null;
  nodes: ClusterNodeProcess[];
  /** An API call to one node (index), or through HAProxy when null. */
  api(method: string, path: string, body?: unknown, node?: number | null, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
  /** Provisions a device through node 0; resolves its token. */
  provision(id: string, kind?: string): Promise<{ id: string; token: string }>;
}

export interface ClusterOptions {
  nodes?: number;
  /** Default 4 s: failures are noticed within seconds, not the production 10. */
  leaseSec?: number;
  withHaproxy?: boolean;
  /** Extra flags for every node. */
  args?: readonly string[];
  /** Other engine URLs for one node (a relay the test can cut in front of them); null keeps the real ones. */
  engineUrls?: (node: number, engines: { pg: EngineAddress; redis: EngineAddress }) => Promise<{ pgUrl: string; redisUrl: string } | null>;
}

interface EngineAddress {
  url: string;
  port: number;
}

/** The engine's URL with another port (a relay's in front of it). */
export function urlWithPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

function addressOf(url: string): EngineAddress {
  return { url, port: Number(new URL(url).port) };
}

/** null when an engine is missing: the test was skipped (or failed under CI). */
export async function startTestCluster(t: TapLike, options: ClusterOptions = {}): Promise<TestCluster | null> {
  const root = mkdtempSync(join(tmpdir(), 'iot-hub-cluster-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  // engines' starter, shared with the cluster benchmark and `npm run cluster`; the nodes are spawned here (tap teardowns, kill/restart).
  const cluster = await engineForTest(t, () =>
    startLocalCluster<ClusterNodeProcess>({
      nodes: options.nodes ?? 3,
      adminToken: CLUSTER_ADMIN_TOKEN,
      root,
      // Failures are noticed within seconds, not the production 10.
      leaseSec: options.leaseSec ?? 4,
      influxDatabase: 'cluster',
      // spawnHub waits for the `hub listening` line, logged at info.
      args: ['--log-level', process.env.HUB_TEST_LOG ?? 'info', ...(options.args ?? [])],
      withHaproxy: options.withHaproxy ?? true,
      checkInterval: '500ms',
      async startNode(spec) {
        const { HUB_PG_URL: pgUrl = '', HUB_REDIS_URL: redisUrl = '' } = spec.env;
        const urls = await options.engineUrls?.(spec.index, { pg: addressOf(pgUrl), redis: addressOf(redisUrl) });
        const env = urls ? { ...spec.env, HUB_PG_URL: urls.pgUrl, HUB_REDIS_URL: urls.redisUrl } : spec.env;
        let current: HubProcess | null = null;
        const node: ClusterNodeProcess = {
          nodeId: spec.nodeId,
          httpPort: spec.httpPort,
          mqttPort: spec.mqttPort,
          get process() {
            return current;
          },
          async kill() {
            const p = current;
            current = null;
            if (!p || p.child.exitCode !== null) return;
            p.child.kill('SIGKILL');
            await p.exited;
          },
          async restart() {
            current = await spawnHub(t, spec.args, env);
          },
          async health() {
            const res = await fetch(`http://127.0.0.1:${spec.httpPort}/healthz`);
            return { status: res.status, body: (await res.json()) as Record<string, unknown> };
          },
        };
        await node.restart();
        return node;
      },
      stopNode: (node) => node.kill(),
    }),
  );
  if (!cluster) return null;
  const { pg, redis, influx, influxDatabase, haproxy, nodes } = cluster;

  const api: TestCluster['api'] = async (method, path, body, node = 0, headers = {}) => {
    const port = node === null ? (haproxy as Haproxy).httpPort : (nodes[node] as ClusterNodeProcess).httpPort;
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { authorization: `Bearer ${CLUSTER_ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
  };

  return {
    pg,
    redis,
    influx,
    influxDatabase,
    haproxy,
    nodes,
    api,
    async provision(id, kind = 'sensor') {
      const res = await api('POST', '/api/devices', { id, kind, name: id });
      if (res.status !== 201) throw new Error(`provisioning ${id} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { id, token: (res.body as { token: string }).token };
    },
  };
}

/** A device connected straight to one node (not through HAProxy), so the test knows which node holds it; it has sent hello. */
export async function clusterDevice(t: TapLike, cluster: TestCluster, node: number, id: string): Promise<TestDevice> {
  const { token } = await cluster.provision(id, 'thermostat');
  const n = cluster.nodes[node] as ClusterNodeProcess;
  const hub = { mqttUrl: `mqtt://127.0.0.1:${n.mqttPort}`, api: (method: string, path: string) => cluster.api(method, path, undefined, node) } as unknown as TestHub;
  const device = attachDevice(t, hub, 'mqtt', id, token);
  await device.connect();
  await device.hello();
  return device;
}
