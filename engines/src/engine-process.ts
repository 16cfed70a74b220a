/**
 * One engine's server process: started, waited for until it answers, and
 * killed (as a crash would) or stopped. Its last output is kept for the
 * error a failed start throws, so a test failure says why.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface EngineCommand {
  /** What the error messages call it ("postgres", "redis-server"). */
  name: string;
  file: string;
  args: readonly string[];
  /** Resolves true once the server answers; polled every 50 ms. */
  ready(): Promise<boolean>;
  startTimeoutMs?: number;
  /** uid/gid and the like. */
  spawnOptions?: SpawnOptions;
  /** What stop() sends first (PostgreSQL's fast shutdown is SIGINT; SIGTERM waits for clients). */
  stopSignal?: NodeJS.Signals;
}

export class EngineProcess {
  private child: ChildProcess | null = null;
  private output = '';

  constructor(private readonly command: EngineCommand) {}

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const { name, file, args, ready, startTimeoutMs = 30_000 } = this.command;
    const proc = spawn(file, args, { ...this.command.spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = proc;
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-4000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.on('error', (err) => keep(Buffer.from(String(err))));
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}: ${this.output}`);
      if (await ready().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${name} did not answer within ${startTimeoutMs} ms: ${this.output}`);
  }

  /** SIGKILL: a crash. */
  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  /** The stop signal (SIGTERM unless set), then SIGKILL if it has not ended after 10 s. */
  async stop(): Promise<void> {
    const proc = this.child;
    if (!proc) return;
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await this.signal(this.command.stopSignal ?? 'SIGTERM');
    clearTimeout(timer);
  }

  /** Pauses (SIGSTOP) or resumes (SIGCONT) the process: an engine that hangs. */
  pause(paused: boolean): void {
    this.child?.kill(paused ? 'SIGSTOP' : 'SIGCONT');
  }

  get lastOutput(): string {
    return this.output;
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const proc = this.child;
    this.child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGCONT');
    proc.kill(signal);
    await exited;
  }
}

/** Resolves after ms. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
