/**
 * Child entry of the bare aedes peer: aedes with its defaults (in-memory
 * persistence, no authentication, so any client and any credentials are
 * accepted) behind a node:net server, and nothing else. TCP_NODELAY is on
 * unless `--nagle` is given: Nagle's algorithm more than halves bare aedes'
 * QoS 0 rate and adds 40 ms stalls (field notes).
 *
 * Listens on a free port of 127.0.0.1 and prints the port on stdout, alone
 * on one line. Ends on SIGTERM or SIGINT.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

const noDelay = !process.argv.includes('--nagle');
const broker = await Aedes.createBroker();
const server = createServer({ noDelay }, (socket) => {
  broker.handle(socket);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});

// The parent measures this process and then ends it: no graceful close, which could wait on clients.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
