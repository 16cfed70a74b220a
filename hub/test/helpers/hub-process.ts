/**
 * Runs the hub as users do (`node hub/dist/main.js …`) in a child process,
 * for tests that must kill it (-9) or watch its exit. Resolves once the hub
 * logs `hub listening`; teardown kills it if the test did not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const HUB_MAIN = resolve(import.meta.dirname, '../../dist/main.js');

export interface HubProcess {
  child: ChildProcess;
  httpPort: number;
  mqttPort: number;
  /** Everything the hub wrote to stderr so far. */
  stderr(): string;
  /** The hub's JSON log lines on stdout so far. */
  stdoutLines: string[];
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

interface TapLike {
  teardown(fn: () => unknown): void;
}

/** `args` come after `--http-port 0 --mqtt-port 0` (a later flag wins); `env` is added to this process's environment. */
export async function spawnHub(t: TapLike, args: readonly string[], env: Record<string, string> = {}): Promise<HubProcess> {
  const child = spawn(process.execPath, [HUB_MAIN, '--http-port', '0', '--mqtt-port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stdoutLines: string[] = [];
  const ports = await new Promise<{ httpPort: number; mqttPort: number }>((resolvePorts, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      stdoutLines.push(line);
      const entry = JSON.parse(line) as { msg?: string; httpPort?: number; mqttPort?: number };
      if (entry.msg === 'hub listening' && entry.httpPort && entry.mqttPort) resolvePorts({ httpPort: entry.httpPort, mqttPort: entry.mqttPort });
    });
    void exited.then((code) => reject(new Error(`hub exited early with ${code}: ${stderr}`)));
  });
  return { child, ...ports, stderr: () => stderr, stdoutLines, exited };
}
