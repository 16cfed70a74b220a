/**
 * The bare ws peer (issue 8): a `ws` broadcast server (every text message a
 * client sends goes to all the other clients) in its own process, so its CPU
 * and memory are measured from /proc like the hub's. Clients connect to
 * `url` (ws://127.0.0.1:PORT/), any path, no authentication.
 */
import { fileURLToPath } from 'node:url';
import { startNodePeer, type NodePeerProcess } from './node-peer.js';

const SCRIPT = fileURLToPath(new URL('./bare-ws-server.js', import.meta.url));

export function startBareWs(): Promise<NodePeerProcess> {
  return startNodePeer({ name: 'bare ws', script: SCRIPT, url: (port) => `ws://127.0.0.1:${port}/` });
}
