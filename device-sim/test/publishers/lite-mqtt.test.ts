/**
 * The lite publisher's framing, byte by byte: a broker that splits its
 * packets anywhere (TCP may) and checks what the publisher writes. Against
 * the real hub it is covered by load.test.ts.
 */
import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { LiteMqttPublisher, ConnectRefusedError } from '../../src/publishers/lite-mqtt.js';

/** A broker that answers CONNACK `code` and PUBACKs each QoS 1 publish, one byte per write. */
async function trickleBroker(t: { teardown(fn: () => void): void }, code = 0) {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined); // the client may hang up while bytes still trickle
    // One byte per write, in order: a queue drained one byte per timer tick.
    const queue: number[] = [];
    let draining = false;
    const drain = (): void => {
      const byte = queue.shift();
      if (byte === undefined || socket.destroyed) {
        draining = false;
        return;
      }
      socket.write(Buffer.from([byte]));
      setTimeout(drain, 1);
    };
    const trickle = (bytes: number[]): void => {
      queue.push(...bytes);
      if (!draining) {
        draining = true;
        drain();
      }
    };
    socket.on('data', (chunk) => {
      received.push(chunk);
      const all = Buffer.concat(received);
      if (all[0] === 0x10 && received.length === 1) trickle([0x20, 0x02, 0x00, code]);
      // Each QoS 1 publish in this test has packet id 1, 2, ...: answer them in order, split.
      for (let at = 0; at < chunk.length; ) {
        const type = (chunk[at] as number) >> 4;
        const len = chunk[at + 1] as number; // payloads here stay under 128 bytes
        if (type === 3 && (((chunk[at] as number) >> 1) & 3) === 1) {
          const topicLength = chunk.readUInt16BE(at + 2);
          const id = chunk.readUInt16BE(at + 4 + topicLength);
          trickle([0x40, 0x02, id >> 8, id & 0xff]);
        }
        at += 2 + len;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`, received };
}

const options = (url: string) => ({ url, clientId: 'dev-1', username: 'dev-1', password: 'secret', keepaliveSec: 30, connectTimeoutMs: 2000 });

t.test('CONNECT is MQTT 3.1.1 with credentials; split CONNACK and PUBACKs are reassembled', async (t) => {
  const broker = await trickleBroker(t);
  const publisher = await LiteMqttPublisher.connect(options(broker.url));
  t.equal(publisher.connected, true);
  const connect = Buffer.concat(broker.received);
  t.equal(connect[0], 0x10);
  t.same([...connect.subarray(2, 10)], [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0xc2], 'MQTT, level 4, user name + password + clean session');
  t.equal(connect.readUInt16BE(10), 30, 'keepalive');
  t.match(connect.subarray(12).toString('latin1'), /dev-1.*dev-1.*secret/);

  const topic = Buffer.from('devices/dev-1/telemetry');
  const acks = await Promise.all(
    [1, 2, 3].map((n) => new Promise<number>((resolve, reject) => publisher.publish(topic, `{"metrics":{"n":${n}}}`, 1, (err) => (err ? reject(err) : resolve(n))))),
  );
  t.same(acks, [1, 2, 3]);

  const publish = Buffer.concat(broker.received).subarray(connect.length);
  t.equal(publish[0], 0x32, 'PUBLISH QoS 1');
  t.equal(publish.subarray(4, 4 + topic.length).toString(), topic.toString());
  await publisher.end();
  t.equal(publisher.connected, false);
});

t.test('a refused CONNACK rejects with the reason; publishes pending at close fail once', async (t) => {
  const refused = await trickleBroker(t, 5);
  const err = await LiteMqttPublisher.connect(options(refused.url)).catch((e: unknown) => e);
  t.type(err, ConnectRefusedError);
  t.equal((err as ConnectRefusedError).message, 'Connection refused: not authorized');

  const server = createServer((socket) => socket.once('data', () => socket.write(Buffer.from([0x20, 2, 0, 0]))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const publisher = await LiteMqttPublisher.connect(options(`mqtt://127.0.0.1:${(server.address() as { port: number }).port}`));
  const outcomes: string[] = [];
  publisher.publish(Buffer.from('devices/dev-1/telemetry'), '{"metrics":{"x":1}}', 1, (e) => outcomes.push(e ? e.message : 'acked'));
  await publisher.end();
  t.same(outcomes, ['Connection closed']);
});
