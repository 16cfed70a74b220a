/**
 * A TCP relay to one engine that a test can cut: the "node cut off from the
 * engines" case without touching the engine (other nodes keep it). A hub
 * node is pointed at the relay's port instead of the engine's.
 *
 * - cut('reset'): every relayed connection is reset and new ones are reset
 *   as they come: the node sees ECONNRESET / ECONNREFUSED-like failures at once.
 * - cut('blackhole'): nothing is forwarded any more and new connections are
 *   accepted but never answered: the node sees only timeouts, as on a dead
 *   network path.
 * - restore(): connections are relayed again (those held by a blackhole are
 *   reset, as a network partition's survivors would be).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type CutMode = 'reset' | 'blackhole';

export interface CuttableProxy {
  readonly port: number;
  /** Connections relayed now (both sides open), or held by a blackhole. */
  readonly connectionCount: number;
  readonly isCut: boolean;
  cut(mode?: CutMode): void;
  restore(): void;
  stop(): Promise<void>;
}

export async function startCuttableProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<CuttableProxy> {
  /** Client side → engine side (null while held by a blackhole). */
  const pairs = new Map<Socket, Socket | null>();
  let mode: CutMode | null = null;

  const drop = (client: Socket): void => {
    const upstream = pairs.get(client);
    pairs.delete(client);
    client.resetAndDestroy();
    upstream?.resetAndDestroy();
  };

  const server: Server = createServer((client) => {
    client.on('error', () => undefined);
    if (mode === 'reset') return void client.resetAndDestroy();
    pairs.set(client, null);
    client.once('close', () => drop(client));
    // Held: its bytes stay unread in the kernel, nothing is answered.
    if (mode === 'blackhole') return void client.pause();
    relay(client);
  });

  const relay = (client: Socket): void => {
    const upstream = connect(targetPort, targetHost);
    upstream.on('error', () => undefined);
    pairs.set(client, upstream);
    upstream.once('close', () => drop(client));
    client.pipe(upstream);
    upstream.pipe(client);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    port,
    get connectionCount() {
      return pairs.size;
    },
    get isCut() {
      return mode !== null;
    },
    cut(how = 'reset') {
      mode = how;
      if (how === 'reset') {
        for (const client of [...pairs.keys()]) drop(client);
        return;
      }
      // Blackhole: both directions stop; the sockets stay open, unanswered.
      for (const [client, upstream] of pairs) {
        client.unpipe();
        upstream?.unpipe();
        client.pause();
        upstream?.pause();
      }
    },
    restore() {
      const held = mode === 'blackhole';
      mode = null;
      if (held) for (const client of [...pairs.keys()]) drop(client);
    },
    async stop() {
      for (const client of [...pairs.keys()]) drop(client);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
