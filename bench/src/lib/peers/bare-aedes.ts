/**
 * The bare aedes peer (issue 8): aedes 1.x and a node:net server with
 * TCP_NODELAY, nothing else, in its own process so its CPU and memory are
 * measured from /proc like the hub's. Any client id, user name and password
 * is accepted; clients connect to `url` (mqtt://127.0.0.1:PORT).
 */
import { fileURLToPath } from 'node:url';
import { startNodePeer, type NodePeerProcess } from './node-peer.js';

const SCRIPT = fileURLToPath(new URL('./bare-aedes-server.js', import.meta.url));

export interface BareAedesOptions {
  /** TCP_NODELAY on every client socket (default true); false leaves Nagle on, aedes' own default. */
  noDelay?: boolean;
}

export function startBareAedes(options: BareAedesOptions = {}): Promise<NodePeerProcess> {
  const noDelay = options.noDelay ?? true;
  return startNodePeer({
    name: noDelay ? 'bare aedes' : 'bare aedes (Nagle)',
    script: SCRIPT,
    args: noDelay ? [] : ['--nagle'],
    url: (port) => `mqtt://127.0.0.1:${port}`,
  });
}
