/**
 * A full garbage collection in another Node process, through its inspector
 * (Chrome DevTools protocol `HeapProfiler.collectGarbage`), so that a memory
 * reading does not depend on when V8 last collected: a fresh server still
 * holds its start-up garbage, and a busy one the garbage of its last burst.
 *
 * The server is started with `--inspect=127.0.0.1:PORT` through NODE_OPTIONS
 * (which hub-process.ts and the peers pass on to their child, since they
 * spawn with this process's environment); the inspector listens on loopback
 * only and costs nothing until a client attaches.
 */
import { freePort } from './free-port.js';
import WebSocket from 'ws';

/** Runs `start` (which spawns the process) with the inspector on a free loopback port; returns its result and the port. */
export async function withInspector<T>(start: () => Promise<T>): Promise<{ started: T; inspectPort: number }> {
  const inspectPort = await freePort();
  const previous = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${previous ?? ''} --inspect=127.0.0.1:${inspectPort}`.trim();
  try {
    return { started: await start(), inspectPort };
  } finally {
    if (previous === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = previous;
  }
}

/** One DevTools protocol session with a process's inspector: one call at a time is enough here. */
export class InspectorSession {
  readonly #ws: WebSocket;
  #nextId = 1;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  static async open(inspectPort: number, timeoutMs = 30_000): Promise<InspectorSession> {
    const res = await fetch(`http://127.0.0.1:${inspectPort}/json/list`, { signal: AbortSignal.timeout(timeoutMs) });
    const url = ((await res.json()) as { webSocketDebuggerUrl?: string }[])[0]?.webSocketDebuggerUrl;
    if (!url) throw new Error(`no inspector target on port ${inspectPort}`);
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 512 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new InspectorSession(ws);
  }

  call<T = unknown>(method: string, params: object = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#ws.off('message', onMessage);
        reject(new Error(`no answer to ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (data: WebSocket.RawData): void => {
        const message = JSON.parse(data.toString()) as { id?: number; result?: T; error?: { message: string } };
        if (message.id !== id) return;
        clearTimeout(timer);
        this.#ws.off('message', onMessage);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result as T);
      };
      this.#ws.on('message', onMessage);
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.#ws.terminate();
  }
}

/** Two full collections (the second frees what the first left to finalizers); false when the inspector could not be reached. */
export async function forceGc(inspectPort: number): Promise<boolean> {
  let session: InspectorSession | undefined;
  try {
    session = await InspectorSession.open(inspectPort);
    await session.call('HeapProfiler.collectGarbage');
    await session.call('HeapProfiler.collectGarbage');
    return true;
  } catch {
    return false;
  } finally {
    session?.close();
  }
}
