/**
 * Puts an MQTT socket behind the hub's ingest gate (limits/ingest-gate.ts).
 *
 * aedes reads a device socket with `read(null)` each time the socket is
 * readable and the packets of its previous read are all handled. While the
 * gate is closed that read returns nothing, so aedes parses nothing and
 * waits; what the device sends meanwhile stays in the kernel, whose buffers
 * fill until the device's writes block. When the gate opens, 'readable' is
 * emitted again, which is what aedes waits for.
 *
 * A read also hands aedes at most MAX_READ_BYTES: a flooding socket holds
 * up to ~64 KiB in its stream buffer (~700 small packets), and the gate lets
 * sockets read in turn, so the smaller each turn, the sooner a quiet device
 * (a CONNECT, one QoS 1 publish) gets its own. A socket that read little
 * last time and has little waiting is such a device: its turn comes before
 * the flooders' (see IngestGate.admit).
 */
import type { Socket } from 'node:net';
import type { IngestGate } from '../../limits/ingest-gate.js';

const MAX_READ_BYTES = 8 * 1024;
/** Less than this read last time and waiting now: a device sending now and then, whose turn comes first. */
const LIGHT_BYTES = 1024;

/** aedes' Client, as far as this module looks at it. */
interface AedesClientState {
  /** Packets of the current read still being handled; 0 = aedes reads again at the next 'readable'. */
  _parsingBatch?: number;
  connackSent?: boolean;
}

export function gateReads(socket: Socket, gate: IngestGate): void {
  const read = socket.read.bind(socket);
  // 'readable' makes aedes read, and must only be emitted while it waits for one: emitted with packets
  // still being handled, its batch count would go wrong.
  const client = (): AedesClientState | undefined => (socket as Socket & { client?: AedesClientState }).client;
  const idle = (): boolean => (client()?._parsingBatch ?? 0) === 0;
  const resume = (): void => {
    if (!socket.destroyed && idle()) socket.emit('readable');
  };
  let lastRead = 0;
  const counted = (chunk: unknown): unknown => {
    if (chunk !== null) lastRead = (chunk as Buffer).length;
    return chunk;
  };
  socket.read = (size?: number): unknown => {
    // read(0) only refills the stream's own bounded buffer from the kernel; it hands aedes no data.
    if (size === 0) return read(0);
    // Until CONNACK a connection is not held back: its CONNECT is small work, and a device that
    // connects during a flood should not wait its turn behind every flooder for it. aedes queues
    // at most a few packets that come before CONNACK (queueLimit), and reads no more meanwhile.
    if (client()?.connackSent !== true && socket.readableLength <= MAX_READ_BYTES) return read(size);
    if (!gate.admit(resume, lastRead < LIGHT_BYTES && socket.readableLength < LIGHT_BYTES)) return null;
    if (socket.readableLength <= MAX_READ_BYTES) return counted(read(size));
    const chunk = counted(read(MAX_READ_BYTES));
    // aedes reads again once this chunk's packets are handled. When the chunk held no whole packet
    // there are none, and the stream will not announce data it already holds: announce it.
    process.nextTick(() => {
      if (socket.readableLength > 0) resume();
    });
    return chunk;
  };
  socket.once('close', () => gate.forget(resume));
}
