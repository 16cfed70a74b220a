/**
 * A throwaway HAProxy (Debian's haproxy, run in the foreground with -db) on
 * free loopback ports, in front of hub nodes: the routing of
 * deploy/haproxy.cfg (haproxy-config.ts) with test ports and fast health
 * checks. Server states come from its admin socket, so a test can wait until
 * the balancer sees its hubs up (or down) instead of sleeping.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineProcess, delay } from './engine-process.js';
import { freePort } from './free-port.js';
import { renderHaproxyConfig } from './haproxy-config.js';
import { requireBinary } from './missing.js';

export const HAPROXY = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';

export interface HaproxyBackend {
  /** Server name ("hub-1"); defaults to node-<index>. */
  name?: string;
  host?: string;
  /** The port HAProxy forwards to (the hub's MQTT or HTTP port). */
  port: number;
  /** The hub's HTTP port, checked with GET /healthz. */
  healthPort: number;
}

export interface HaproxyOptions {
  mqttBackends: readonly HaproxyBackend[];
  httpBackends: readonly HaproxyBackend[];
  /** send-proxy-v2 to the hubs (which then need --proxy-protocol-from 127.0.0.1). */
  sendProxy?: boolean;
  /** Health check interval (HAProxy syntax); fast by default, so tests see a node go down quickly. */
  checkInterval?: string;
  /**
   * Loopback address HAProxy connects to the hubs from, e.g. 127.0.0.5: the
   * hubs trust only it, so a test's direct API calls from 127.0.0.1 need no header.
   */
  sourceAddress?: string;
  /** Ports it listens on (127.0.0.1); free ones when absent or 0. */
  mqttPort?: number;
  httpPort?: number;
}

/** "UP", "DOWN", "MAINT", "no check" … as HAProxy's `show stat` spells them. */
export type ServerStates = Record<'mqtt' | 'http', Record<string, string>>;

export interface Haproxy {
  readonly mqttPort: number;
  readonly httpPort: number;
  /** Its pid; undefined while it is down. */
  readonly pid: number | undefined;
  /** The configuration it runs. */
  readonly config: string;
  /** Server states by backend and name, from the admin socket. */
  serverStates(): Promise<ServerStates>;
  /** Resolves once every server of both backends is in `state` ("UP", "DOWN"); throws after timeoutMs. */
  waitForServers(state: string, timeoutMs?: number): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `haproxy -c`: whether HAProxy accepts the file, and what it said. */
export function checkHaproxyConfig(file: string): { ok: boolean; output: string } {
  const bin = requireBinary(HAPROXY, 'haproxy');
  const r = spawnSync(bin, ['-c', '-f', file], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

export async function startHaproxy(options: HaproxyOptions): Promise<Haproxy> {
  const bin = requireBinary(HAPROXY, 'haproxy');
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-haproxy-'));
  const socket = join(dir, 'admin.sock');
  const [mqttPort, httpPort] = [options.mqttPort || (await freePort()), options.httpPort || (await freePort())];
  const servers = (list: readonly HaproxyBackend[]) =>
    list.map((b, i) => ({ name: b.name ?? `node-${i + 1}`, address: `${b.host ?? '127.0.0.1'}:${b.port}`, healthPort: b.healthPort }));
  const config = renderHaproxyConfig({
    mqttBind: `127.0.0.1:${mqttPort}`,
    httpBind: `127.0.0.1:${httpPort}`,
    mqttServers: servers(options.mqttBackends),
    httpServers: servers(options.httpBackends),
    sendProxy: options.sendProxy ?? false,
    maxconn: 4000,
    checkInterval: options.checkInterval ?? '200ms',
    statsSocket: socket,
    ...(options.sourceAddress ? { source: options.sourceAddress } : {}),
  });
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const checked = checkHaproxyConfig(file);
  if (!checked.ok) throw new Error(`haproxy -c refused the configuration: ${checked.output}\n${config}`);
  const proc = new EngineProcess({ name: 'haproxy', file: bin, args: ['-db', '-f', file], ready: async () => (await adminCommand(socket, 'show info')).includes('Name: HAProxy') });
  await proc.start();

  const serverStates = async (): Promise<ServerStates> => {
    const states: ServerStates = { mqtt: {}, http: {} };
    // CSV: pxname,svname,…, status is the 18th column.
    for (const row of (await adminCommand(socket, 'show stat')).split('\n')) {
      const cols = row.split(',');
      const backend = cols[0] === 'hubs_mqtt' ? 'mqtt' : cols[0] === 'hubs_http' ? 'http' : null;
      if (!backend || cols[1] === 'BACKEND' || cols[1] === undefined) continue;
      states[backend][cols[1]] = (cols[17] ?? '').split(' ')[0] ?? '';
    }
    return states;
  };
  let stopped = false;
  return {
    mqttPort,
    httpPort,
    get pid() {
      return proc.pid;
    },
    config,
    serverStates,
    async waitForServers(state, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let last: ServerStates = { mqtt: {}, http: {} };
      while (Date.now() < deadline) {
        last = await serverStates().catch(() => last);
        const all = [...Object.values(last.mqtt), ...Object.values(last.http)];
        if (all.length > 0 && all.every((s) => s === state)) return;
        await delay(50);
      }
      throw new Error(`HAProxy's servers are not all ${state} after ${timeoutMs} ms: ${JSON.stringify(last)}`);
    },
    kill: () => proc.kill(),
    restart: () => proc.start(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One command on HAProxy's admin socket; resolves with its whole answer ('' if it is not there). */
function adminCommand(path: string, command: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(path);
    let answer = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('error', () => resolve(''));
    socket.on('connect', () => socket.write(`${command}\n`));
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('close', () => resolve(answer));
  });
}
