/**
 * The MQTT wire fuzzer (issue 7): raw TCP connections send seeded MQTT byte
 * streams (mqtt-packets.ts) to the hub of fuzz-harness.ts.
 *
 * Sessions: 20% raw noise before any CONNECT; the rest CONNECT with a real
 * provisioned device's credentials, wait for the CONNACK, then send many
 * packets (mostly PUBLISHes of mutated JSON, some broken framing) until the
 * session's list runs out or the hub closes the connection. The packets of
 * session s of worker w are a pure function of (seed, w, s); how many of
 * them the hub reads before it closes depends on timing.
 */
import { Rng, caseSeed } from '../../../protocol/test/helpers/fuzz-mutations.js';
import { runFuzz, sleep, type FuzzOptions, type FuzzReport, type FuzzTarget } from './fuzz-harness.js';
import { connectPacket, packetMutations, sessionPacket } from './mqtt-packets.js';
import { openRawSocket, writeAll } from './raw-socket.js';

export const mqttTarget: FuzzTarget = {
  name: 'mqtt',
  async worker({ index, seed, budget, mqttPort, device, counters }) {
    for (let session = 0; budget(); session++) {
      const rng = new Rng(caseSeed(seed, 'mqtt-wire', index, session));
      const noise = rng.chance(0.2);
      const length = noise ? 1 + rng.int(8) : 5 + rng.int(200);
      const raw = await openRawSocket(mqttPort).catch(() => null);
      if (!raw) {
        await sleep(20);
        continue;
      }
      // CONNACK: 0x20 0x02 flags returnCode; return code 0 = accepted.
      const connack = raw.firstBytes(4, 3000).then((d) => d.length >= 4 && d[0] === 0x20 && d[3] === 0);
      counters.sessions++;
      if (!noise) {
        const creds = rng.chance(0.95) ? [device.id, device.id, device.token] : [device.id, device.id, 'wrong-token'];
        await writeAll(raw.socket, connectPacket(creds[0]!, creds[1]!, creds[2]!));
        counters.sent++;
        counters.byKind.connect = (counters.byKind.connect ?? 0) + 1;
        if (!(await connack)) counters.connectRefused++;
      }
      for (let i = 0; i < length && !raw.closed && budget(); i++) {
        const packet = noise ? { kind: 'noise', bytes: packetMutations.randomBytes!(rng, device.id, 1) } : sessionPacket(rng, device.id, 1 + (i % 65535));
        await writeAll(raw.socket, packet.bytes);
        if (raw.closed) break;
        counters.sent++;
        counters.bytes += packet.bytes.length;
        counters.byKind[packet.kind] = (counters.byKind[packet.kind] ?? 0) + 1;
        // Let the hub answer now and then, so a close lands before the next packets.
        if (i % 16 === 15) await new Promise((r) => setImmediate(r));
      }
      // Give the hub a moment to react to the last packet before deciding who closed.
      await sleep(5);
      if (raw.closed) counters.closedByHub++;
      raw.socket.destroy();
    }
  },
};

export type { FuzzOptions, FuzzReport };
export const runMqttFuzz = (options: FuzzOptions): Promise<FuzzReport> => runFuzz(mqttTarget, options);
