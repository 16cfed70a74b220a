/**
 * The device clients of the conns and storm benchmarks as a child process
 * (idle-clients.ts), driven over IPC one request at a time. Separate from
 * the bench process so that 10,000 sockets' worth of client memory and CPU
 * is never counted as the server's, and so that the client has its own fd
 * limit (20,000 per process here).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LatencySummary } from '@iot-hub/device-sim';
import type { Handshake } from './idle-mqtt.js';

const ENTRY = fileURLToPath(new URL('./idle-clients.js', import.meta.url));

export interface WaveRequest {
  op: 'wave';
  transport: 'mqtt' | 'ws';
  /** mqtt://host:port, or the full ws:// URL of the device endpoint. */
  url: string;
  devices: { id: string; token: string }[];
  /** Handshakes in progress at most. */
  concurrency: number;
  handshake: Handshake;
  /** A handshake not finished by then counts as failed ('timeout'). */
  timeoutMs: number;
  keepaliveSec: number;
  /** WebSocket only: the hello as a binary frame (for the bare ws peer, which broadcasts text frames). */
  helloAsBinary?: boolean;
}

export interface WaveResult {
  op: 'wave-done';
  attempted: number;
  /** CONNACK 0, or the WebSocket upgrade. */
  accepted: number;
  /** Handshake finished and held. */
  ready: number;
  failed: number;
  failedBy: Record<string, number>;
  startedAt: number;
  firstAcceptedAt: number | null;
  lastAcceptedAt: number | null;
  lastReadyAt: number | null;
  endedAt: number;
  /** From opening the socket to CONNACK / upgrade. */
  connectLatencyMs: LatencySummary | null;
  /** From opening the socket to the end of the handshake. */
  readyLatencyMs: LatencySummary | null;
  /** The client process's CPU time during the wave (process.cpuUsage). */
  cpuMs: number;
}

export type ClientRequest = WaveRequest | { op: 'status' } | { op: 'drop' };

export type ClientReply =
  | WaveResult
  | { op: 'progress'; accepted: number; ready: number; failed: number }
  | { op: 'status'; held: number; lost: number }
  | { op: 'dropped'; count: number }
  | { op: 'error'; message: string };

export class IdleClientProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #waiting: ((reply: ClientReply) => void) | undefined;
  #onProgress: ((p: { accepted: number; ready: number; failed: number }) => void) | undefined;

  constructor() {
    this.#child = fork(ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.on('message', (message: ClientReply) => {
      if (message.op === 'progress') this.#onProgress?.(message);
      else this.#waiting?.(message);
    });
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  async wave(request: Omit<WaveRequest, 'op'>, onProgress?: (p: { accepted: number; ready: number; failed: number }) => void): Promise<WaveResult> {
    this.#onProgress = onProgress;
    try {
      return await this.#ask({ op: 'wave', ...request }, 'wave-done');
    } finally {
      this.#onProgress = undefined;
    }
  }

  status(): Promise<{ held: number; lost: number }> {
    return this.#ask({ op: 'status' }, 'status');
  }

  async drop(): Promise<number> {
    return (await this.#ask({ op: 'drop' }, 'dropped')).count;
  }

  /** Ends the child (its sockets close with it); SIGKILL if it has not gone within 5 s. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    if (this.#child.connected) this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
  }

  #ask<Op extends ClientReply['op']>(request: ClientRequest, op: Op): Promise<Extract<ClientReply, { op: Op }>> {
    return new Promise((resolve, reject) => {
      const gone = (): void => reject(new Error('the client process exited'));
      this.#child.once('exit', gone);
      this.#waiting = (reply) => {
        this.#waiting = undefined;
        this.#child.off('exit', gone);
        if (reply.op === op) resolve(reply as Extract<ClientReply, { op: Op }>);
        else reject(new Error(reply.op === 'error' ? `client process: ${reply.message}` : `client process answered ${reply.op}, expected ${op}`));
      };
      this.#child.send(request);
    });
  }
}
