/**
 * The bare command relay peer of the commands benchmark: a server that does
 * only the network and parsing work of a command round trip (see
 * bare-command-relay-server.ts), in its own process so that its CPU and
 * memory come from /proc like the hub's.
 */
import { fileURLToPath } from 'node:url';
import { startNodePeer, type NodePeerProcess } from './node-peer.js';

const SCRIPT = fileURLToPath(new URL('./bare-command-relay-server.js', import.meta.url));

export interface BareCommandRelay extends NodePeerProcess {
  httpUrl: string;
  mqttUrl: string;
}

export async function startBareCommandRelay(): Promise<BareCommandRelay> {
  const peer = await startNodePeer({ name: 'bare command relay', script: SCRIPT, url: (port) => `mqtt://127.0.0.1:${port}` });
  const httpPort = peer.ports[1];
  if (httpPort === undefined) {
    await peer.stop();
    throw new Error(`bare command relay printed one port (${peer.ports.join(' ')}), not its MQTT and HTTP ports`);
  }
  return Object.assign(peer, { mqttUrl: peer.url, httpUrl: `http://127.0.0.1:${httpPort}` });
}
