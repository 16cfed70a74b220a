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
import { engineForTest, freePort, startHaproxy, startPostgres, startRedis, type Haproxy, type Postgres, type Redis } from '@iot-hub/engines';
import { attachDevice, type TestDevice } from '../commands/test-device.js';
import type { TestHub } from './hub.js';
import { spawnHub, type HubProcess } from './hub-process.js';
import { startInfluxd, type Influxd } from './influxd.js';

interface TapLike {
  teardown(fn: () => unknown): void;
  plan(n: number, comment?: string): void;
  fail(message: string): void;
}

export const CLUSTER_ADMIN_TOKEN = 'cluster-test-admin-token-0123456789';
/** HAProxy connects to the nodes from this address, which they trust for PROXY headers; tests call nodes directly from 127.0.0.1. */
const BALANCER_ADDRESS = '127.0.0.5';

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
  /**
   * Where a node (index) reaches PostgreSQL and Redis, when not straight at
   * the engines: e.g. through a CuttableProxy, to cut that node off alone.
   * null: the engines' own URLs.
   */
  engineUrls?: (node: number, engines: { pg: Postgres; redis: Redis }) => Promise<{ pgUrl: string; redisUrl: string } | null>;
}

/** The engine's URL with another port (a relay's in front of it). */
export function urlWithPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

/** null when an engine is missing: the test was skipped (or failed under CI). */
export async function startTestCluster(t: TapLike, options: ClusterOptions = {}): Promise<TestCluster | null> {
  const pg = await engineForTest(t, () => startPostgres());
  if (!pg) return null;
  const redis = await engineForTest(t, () => startRedis());
  if (!redis) return null;
  const influx = await startInfluxd(t);
  if (!influx) return null;
  const influxDatabase = 'cluster';
  const root = mkdtempSync(join(tmpdir(), 'iot-hub-cluster-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const count = options.nodes ?? 3;
  const nodes: (ClusterNodeProcess & { start(): Promise<void> })[] = [];
  for (let i = 0; i < count; i++) {
    const nodeId = `node-${i + 1}`;
    let ports = { http: await freePort(), mqtt: await freePort() };
    const args = (): string[] => [
      '--cluster',
      '--node-id',
      nodeId,
      '--store',
      'influx',
      '--influx-url',
      influx.urlFor(influxDatabase),
      '--data-dir',
      join(root, nodeId),
      '--admin-token',
      CLUSTER_ADMIN_TOKEN,
      '--node-lease-sec',
      String(options.leaseSec ?? 4),
      '--proxy-protocol-from',
      BALANCER_ADDRESS,
      '--http-port',
      String(ports.http),
      '--mqtt-port',
      String(ports.mqtt),
      '--log-level',
      // spawnHub waits for the `hub listening` line, logged at info.
      process.env.HUB_TEST_LOG ?? 'info',
      ...(options.args ?? []),
    ];
    // The URLs carry passwords: in the environment, as operators are told to.
    const urls = (await options.engineUrls?.(i, { pg, redis })) ?? { pgUrl: pg.url, redisUrl: redis.url };
    const env = { HUB_PG_URL: urls.pgUrl, HUB_REDIS_URL: urls.redisUrl };
    let current: HubProcess | null = null;
    const node: ClusterNodeProcess & { start(): Promise<void> } = {
      nodeId,
      get httpPort() {
        return ports.http;
      },
      get mqttPort() {
        return ports.mqtt;
      },
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
        current = await spawnHub(t, args(), env);
      },
      /** The first start: another test process may take a free port before the hub binds it, then new ones are picked. */
      async start() {
        for (let attempt = 1; ; attempt++) {
          try {
            return await node.restart();
          } catch (err) {
            if (attempt === 3 || !String(err).includes('EADDRINUSE')) throw err;
            ports = { http: await freePort(), mqtt: await freePort() };
          }
        }
      },
      async health() {
        const res = await fetch(`http://127.0.0.1:${ports.http}/healthz`);
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      },
    };
    nodes.push(node);
  }
  // Nodes start together, as they would after a cluster-wide deploy: migrations must cope.
  await Promise.all(nodes.map((n) => n.start()));
  t.teardown(() => Promise.all(nodes.map((n) => n.kill())));

  let haproxy: Haproxy | null = null;
  if (options.withHaproxy ?? true) {
    const backends = nodes.map((n) => ({ name: n.nodeId, port: n.mqttPort, healthPort: n.httpPort }));
    haproxy = await engineForTest(t, () =>
      startHaproxy({ mqttBackends: backends, httpBackends: nodes.map((n) => ({ name: n.nodeId, port: n.httpPort, healthPort: n.httpPort })), sendProxy: true, sourceAddress: BALANCER_ADDRESS, checkInterval: '500ms' }),
    );
    if (!haproxy) return null;
    await haproxy.waitForServers('UP', 20_000);
  }

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
