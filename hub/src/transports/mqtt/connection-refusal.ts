/**
 * Refuses an MQTT connection the hub will not take (too many connections,
 * or its IP connects too fast) without handing it to aedes: as soon as the
 * CONNECT starts to arrive it is answered with CONNACK 3, "server
 * unavailable" [MQTT-3.2.2.3], which tells the device to come back later,
 * and the socket is closed. Nothing of the CONNECT is parsed or kept.
 */
import type { Socket } from 'node:net';

/** CONNACK, remaining length 2, no session present, return code 3 [MQTT-3.2.2]. */
const CONNACK_SERVER_UNAVAILABLE = Buffer.from([0x20, 0x02, 0x00, 0x03]);
/** [MQTT-2.2.1] packet type 1 in the high nibble of the first byte. */
const CONNECT_TYPE = 1;
/** A client that sends nothing is not waited for longer than this. */
const REFUSAL_TIMEOUT_MS = 2_000;

export function refuseMqttConnection(socket: Socket): void {
  const timer = setTimeout(() => socket.destroy(), REFUSAL_TIMEOUT_MS);
  timer.unref();
  socket.on('error', () => socket.destroy());
  socket.once('close', () => clearTimeout(timer));
  socket.once('data', (chunk: Buffer) => {
    if ((chunk[0] ?? 0) >> 4 !== CONNECT_TYPE) return socket.destroy();
    // Whatever else arrives is read and thrown away until the client closes.
    socket.on('data', () => undefined);
    socket.end(CONNACK_SERVER_UNAVAILABLE);
  });
}
