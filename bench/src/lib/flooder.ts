/**
 * The overload flooder as a child process (flooder-child.ts), and the kernel
 * side of its connections from /proc/net/tcp: how many bytes sit unread in
 * the server's receive queues and unsent in the publishers' send queues.
 * Together with what the publishers handed to the kernel, that says how
 * much the server actually read, without asking the server.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FloodCommand, FloodReport, FloodSetup, FloodStats } from './flooder-child.js';

const CHILD = fileURLToPath(new URL('./flooder-child.js', import.meta.url));

export type { FloodSetup, FloodStats };

export class Flooder {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #waiting: ((report: FloodReport) => void)[] = [];

  constructor() {
    this.#child = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.on('message', (report: FloodReport) => this.#waiting.shift()?.(report));
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  #ask(command: FloodCommand): Promise<FloodReport> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`flooder: no answer to ${command.cmd} within 60 s`)), 60_000);
      this.#waiting.push((report) => {
        clearTimeout(timer);
        resolve(report);
      });
      this.#child.send(command);
    });
  }

  /** Opens every publisher connection (and the subscriber); resolves once all got CONNACK or failed. */
  async setup(setup: FloodSetup): Promise<Extract<FloodReport, { type: 'ready' }>> {
    return (await this.#ask({ cmd: 'setup', setup })) as Extract<FloodReport, { type: 'ready' }>;
  }

  flood(): void {
    this.#child.send({ cmd: 'flood' } satisfies FloodCommand);
  }

  async stats(): Promise<FloodStats> {
    return (await this.#ask({ cmd: 'stats' })).stats;
  }

  /** Stops writing and closes every connection in one go; resolves with the figures just before. */
  async disconnectAll(): Promise<FloodStats> {
    return (await this.#ask({ cmd: 'disconnect' })).stats;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGKILL');
    await this.#exited;
  }
}

export interface KernelQueues {
  /** Bytes received by the kernel for the server but not yet read by it (Recv-Q of its sockets). */
  serverUnread: number;
  /** Bytes the publishers' kernels hold, not yet acknowledged by the server's (Send-Q of theirs). */
  clientUnsent: number;
  /** Server-side sockets of these connections with 64 KiB or more unread. */
  serverSocketsFull: number;
}

/**
 * Reads /proc/net/tcp (IPv4, loopback) for the connections between
 * `clientPorts` and the server's `serverPort`. Columns: local, remote (hex
 * ip:port), state, tx_queue:rx_queue (hex).
 */
export function kernelQueues(serverPort: number, clientPorts: readonly number[]): KernelQueues {
  const clients = new Set(clientPorts);
  const result: KernelQueues = { serverUnread: 0, clientUnsent: 0, serverSocketsFull: 0 };
  const lines = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const localPort = parseInt((f[1] as string).split(':')[1] as string, 16);
    const remotePort = parseInt((f[2] as string).split(':')[1] as string, 16);
    const [tx, rx] = (f[4] as string).split(':').map((h) => parseInt(h, 16)) as [number, number];
    if (localPort === serverPort && clients.has(remotePort)) {
      result.serverUnread += rx;
      if (rx >= 65_536) result.serverSocketsFull++;
    } else if (remotePort === serverPort && clients.has(localPort)) result.clientUnsent += tx;
  }
  return result;
}
