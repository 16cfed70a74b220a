/**
 * Starts a peer server script (one of this folder's `*-server.js`) as a
 * child Node process and learns its port from the first line it prints on
 * stdout (a peer with several listeners prints them all on that line,
 * separated by spaces). Shared by the bare aedes and bare ws peers, so both are started,
 * watched and stopped the same way.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { PeerProcess } from './peer.js';

export interface NodePeerOptions {
  name: string;
  /** Absolute path of the compiled server script. */
  script: string;
  args?: readonly string[];
  /** Builds the peer's URL from the port it printed. */
  url(port: number): string;
  startTimeoutMs?: number;
}

export interface NodePeerProcess extends PeerProcess {
  /** Every port the peer printed (most print one; `url` is built from the first). */
  ports: readonly number[];
  /** Undefined while the peer runs; how it ended (and the end of its stderr) once it has exited by itself. */
  exitStatus(): string | undefined;
}

export async function startNodePeer(options: NodePeerOptions): Promise<NodePeerProcess> {
  const child = spawn(process.execPath, [options.script, ...(options.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    // Kept short: only for the error message if the peer dies.
    stderr = (stderr + chunk).slice(-2000);
  });
  let stopping = false;
  let exitStatus: string | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': by then stderr has been read to its end (a crash's stack trace).
    child.once('close', (code, signal) => {
      if (!stopping) {
        const lines = stderr.trim().split('\n');
        // A crash's error line says more than the last frames of its stack.
        const why = lines.find((l) => /\b\w*Error\b/.test(l)) ?? lines.slice(-3).join(' | ');
        exitStatus = `${options.name} exited (code ${code}, signal ${signal}): ${why || 'no output'}`;
      }
      resolve({ code, signal });
    });
  });
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const ports = await new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.name} did not print its port within ${timeoutMs} ms`)), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited before listening (code ${code}, signal ${signal}): ${stderr.trim() || 'no output'}`));
    });
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const printed = line.trim().split(/\s+/).map(Number);
      if (printed.every((n) => Number.isInteger(n) && n > 0)) resolve(printed);
      else reject(new Error(`${options.name} printed "${line}" instead of its port`));
    });
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  // Nothing more is expected on stdout; keep it drained so the child never blocks on a full pipe.
  child.stdout.resume();

  return {
    name: options.name,
    pid: child.pid as number,
    url: options.url(ports[0] as number),
    ports,
    exitStatus: () => exitStatus,
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
