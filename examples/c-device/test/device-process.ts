/**
 * Test harness for the C reference device: builds it with make (-Werror),
 * runs the binary as a child process, reads its one-line-per-event log,
 * and a stand-in MQTT broker (bare aedes) that plays the hub where a test
 * needs to hold PUBACKs or send exact messages.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Aedes, type Client, type PublishPacket } from 'aedes';

interface TapLike {
  teardown(fn: () => unknown): void;
}

export const DEVICE_DIR = resolve(import.meta.dirname, '..');
export const DEVICE_BIN = join(DEVICE_DIR, 'build', 'c-device');

/** Why the device cannot be built here, or null. */
export function missingToolchain(): string | null {
  const need: [string, string][] = [
    ['/usr/include/MQTTClient.h', 'libpaho-mqtt-dev'],
    ['/usr/include/cjson/cJSON.h', 'libcjson-dev'],
  ];
  const absent = need.filter(([file]) => !existsSync(file));
  const tools = ['cc', 'make'].filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  const missing = [...absent.map(([, pkg]) => pkg), ...tools];
  return missing.length ? `missing Debian packages/tools: ${missing.join(', ')} (apt-get install libpaho-mqtt-dev libcjson-dev gcc make)` : null;
}

/** make with the Makefile's -std=c11 -Wall -Wextra -Werror: a warning fails the build. */
export function buildDevice(): void {
  execFileSync('make', ['-C', DEVICE_DIR, '--no-print-directory'], { stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface LoggedSample {
  boot: number;
  seq: number;
  ts: number;
}

export interface DeviceProcess {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first log line (from index `from` on) matching re. */
  waitFor(re: RegExp, timeoutMs?: number, from?: number): Promise<RegExpMatchArray>;
  /** Resolves once `count` lines (from index `from` on) match re. */
  waitForCount(re: RegExp, count: number, timeoutMs?: number, from?: number): Promise<void>;
  count(re: RegExp): number;
  samples(): LoggedSample[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function tempDir(t: TapLike, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function startDevice(t: TapLike, env: Record<string, string>): DeviceProcess {
  const child = spawn(DEVICE_BIN, [], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BACKOFF_MIN_MS: '100', BACKOFF_MAX_MS: '500', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let partial = '';
  child.stderr?.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const poll = (check: () => boolean, timeoutMs: number, what: string) =>
    new Promise<void>((resolvePromise, reject) => {
      if (check()) return resolvePromise();
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; device log:\n${lines.slice(-40).join('\n')}`));
      }, timeoutMs);
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(waiter), 1);
        resolvePromise();
      };
      waiters.push(waiter);
    });
  const self: DeviceProcess = {
    child,
    lines,
    exited,
    async waitFor(re, timeoutMs = 15_000, from = 0) {
      let found: RegExpMatchArray | null = null;
      await poll(() => lines.slice(from).some((l) => (found = l.match(re)) !== null), timeoutMs, String(re));
      return found as unknown as RegExpMatchArray;
    },
    waitForCount(re, count, timeoutMs = 15_000, from = 0) {
      return poll(() => lines.slice(from).filter((l) => re.test(l)).length >= count, timeoutMs, `${count} × ${String(re)}`);
    },
    count: (re) => lines.filter((l) => re.test(l)).length,
    samples: () =>
      lines.flatMap((l) => {
        const m = / sample boot=(\d+) seq=(\d+) ts=(\d+) /.exec(l);
        return m ? [{ boot: Number(m[1]), seq: Number(m[2]), ts: Number(m[3]) }] : [];
      }),
  };
  return self;
}

/** Stops the device with SIGTERM (clean shutdown) and resolves with its exit. */
export async function stopDevice(device: DeviceProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  device.child.kill('SIGTERM');
  return device.exited;
}

export async function killDevice(device: DeviceProcess): Promise<void> {
  device.child.kill('SIGKILL');
  await device.exited;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface Published {
  topic: string;
  channel: string;
  payload: Record<string, unknown>;
  /** False while the stand-in holds its PUBACK. */
  acked: boolean;
}

/**
 * A bare aedes broker standing in for the hub: records every publish,
 * holds the PUBACKs of telemetry while `holdTelemetry` is set (as a hub
 * that cannot store would), and lets the test publish hub messages.
 */
export interface StandIn {
  port: number;
  published: Published[];
  holdTelemetry: boolean;
  /** Resolves once the device holds a subscription (after its SUBACK). */
  subscribed(): Promise<void>;
  send(deviceId: string, channel: string, payload: unknown): Promise<void>;
  /** Called with each new subscription, like a hub that answers with desired/pong. */
  onSubscribe?: (client: Client) => void;
}

export async function startStandIn(t: TapLike): Promise<StandIn> {
  const published: Published[] = [];
  let subscribedCount = 0;
  const subWaiters: (() => void)[] = [];
  const self: StandIn = {
    port: 0,
    published,
    holdTelemetry: false,
    subscribed() {
      const target = subscribedCount + 1;
      return new Promise((r) => {
        const check = () => {
          if (subscribedCount >= target) r();
          else subWaiters.push(check);
        };
        check();
      });
    },
    async send(deviceId, channel, payload) {
      await new Promise<void>((r) =>
        broker.publish({ cmd: 'publish', topic: `devices/${deviceId}/${channel}`, payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: false, dup: false } as PublishPacket, () => r()),
      );
    },
  };
  const broker = await Aedes.createBroker({
    authorizePublish: (client, packet, done) => {
      if (!client) return done(null);
      const channel = packet.topic.split('/')[2] ?? '';
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(packet.payload.toString()) as Record<string, unknown>;
      } catch {
        payload = { raw: packet.payload.toString() };
      }
      const entry: Published = { topic: packet.topic, channel, payload, acked: !(self.holdTelemetry && channel === 'telemetry') };
      published.push(entry);
      // A held publish never gets its PUBACK: the device must keep the samples.
      if (entry.acked) done(null);
    },
  });
  broker.on('subscribe', (_subs, client) => {
    subscribedCount++;
    self.onSubscribe?.(client);
    for (const w of subWaiters.splice(0)) w();
  });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  self.port = (server.address() as AddressInfo).port;
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((r) => broker.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
  return self;
}
