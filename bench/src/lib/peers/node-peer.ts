/**
 * Starts a peer server script (one of this folder's `*-server.js`) as a
 * child Node process and learns its port from the first line it prints on
 * stdout. Shared by the bare aedes and bare ws peers, so both are started,
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

export async function startNodePeer(options: NodePeerOptions): Promise<PeerProcess> {
  const child = spawn(process.execPath, [options.script, ...(options.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    // Kept short: only for the error message if the peer dies.
    stderr = (stderr + chunk).slice(-2000);
  });
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const port = await new Promise<number>((resolve, reject) => {
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
      const n = Number(line.trim());
      if (Number.isInteger(n) && n > 0) resolve(n);
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
    url: options.url(port),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
