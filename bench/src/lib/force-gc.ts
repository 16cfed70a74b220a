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
import { createServer, type AddressInfo } from 'node:net';
import WebSocket from 'ws';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

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

/** Two full collections (the second frees what the first left to finalizers); false when the inspector could not be reached. */
export async function forceGc(inspectPort: number, timeoutMs = 30_000): Promise<boolean> {
  let url: string | undefined;
  try {
    const res = await fetch(`http://127.0.0.1:${inspectPort}/json/list`, { signal: AbortSignal.timeout(timeoutMs) });
    url = ((await res.json()) as { webSocketDebuggerUrl?: string }[])[0]?.webSocketDebuggerUrl;
  } catch {
    return false;
  }
  if (!url) return false;
  const ws = new WebSocket(url, { perMessageDeflate: false });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    for (const id of [1, 2]) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer to HeapProfiler.collectGarbage')), timeoutMs);
        const onMessage = (data: WebSocket.RawData): void => {
          if ((JSON.parse(data.toString()) as { id?: number }).id !== id) return;
          clearTimeout(timer);
          ws.off('message', onMessage);
          resolve();
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
      });
    }
    return true;
  } catch {
    return false;
  } finally {
    ws.terminate();
  }
}
