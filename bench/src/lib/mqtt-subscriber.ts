/**
 * A lean MQTT 3.1.1 subscriber for benchmarks against an MQTT peer: CONNECT,
 * one SUBSCRIBE, then it counts PUBLISH packets and times publish → receive
 * from the `t` field (epoch ms at send) that load mode puts in every
 * payload. QoS 1 deliveries are acknowledged with PUBACKs corked per tick.
 *
 * mqtt.js costs about 30 µs per message in its client: at tens of thousands
 * of msgs/s the subscriber would be what is measured. This one parses the
 * payload with JSON.parse like the hub's dashboard probe does, so the two
 * subscribers cost about the same.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { LatencyRecorder, MqttFrames } from '@iot-hub/device-sim';
import { CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, PINGREQ, DISCONNECT, packet, str } from './mqtt-wire.js';

export interface MqttSubscriberOptions {
  /** mqtt://host:port */
  url: string;
  topic: string;
  qos: 0 | 1;
  clientId?: string;
  username?: string;
  password?: string;
  connectTimeoutMs?: number;
}

export class MqttSubscriber {
  readonly latency = new LatencyRecorder();
  /** PUBLISH packets received. */
  received = 0;
  /** Wall clock (Date.now()) of the last one. */
  lastReceivedAt = 0;
  readonly #socket: Socket;
  readonly #frames = new MqttFrames();
  #corked = false;
  #pinger: NodeJS.Timeout | undefined;
  #onConnack: ((code: number) => void) | undefined;
  #onSuback: ((granted: number) => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Connects and subscribes; resolves once the SUBACK grants the subscription. */
  static async connect(options: MqttSubscriberOptions): Promise<MqttSubscriber> {
    const url = new URL(options.url);
    const socket = tcpConnect({ host: url.hostname, port: Number(url.port || 1883), noDelay: true });
    const sub = new MqttSubscriber(socket);
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`subscriber: no SUBACK within ${timeoutMs} ms`)), timeoutMs);
        const fail = (err: Error): void => {
          clearTimeout(timer);
          reject(err);
        };
        socket.on('error', fail);
        socket.on('close', () => fail(new Error('subscriber: connection closed')));
        socket.on('data', (chunk: Buffer) => sub.#onData(chunk));
        sub.#onConnack = (code) => {
          if (code !== 0) return fail(new Error(`subscriber: CONNACK return code ${code}`));
          // [MQTT-3.8.1-1]: SUBSCRIBE has flags 0010; packet id 1, one topic filter.
          socket.write(packet((SUBSCRIBE << 4) | 0x02, [Buffer.from([0, 1]), str(options.topic), Buffer.from([options.qos])]));
        };
        sub.#onSuback = (granted) => {
          clearTimeout(timer);
          if (granted === 0x80) reject(new Error(`subscriber: subscription to ${options.topic} refused`));
          else resolve();
        };
        socket.on('connect', () => {
          const flags = 0x80 | 0x40 | 0x02; // user name, password, clean session
          socket.write(
            packet(CONNECT << 4, [
              str('MQTT'),
              Buffer.from([4, flags, 0, 60]), // protocol level 3.1.1, keepalive 60 s
              str(options.clientId ?? `bench-sub-${process.pid}`),
              str(options.username ?? 'bench'),
              str(options.password ?? 'bench'),
            ]),
          );
        });
      });
    } catch (err) {
      socket.destroy();
      throw err;
    }
    sub.#onConnack = undefined;
    sub.#onSuback = undefined;
    socket.removeAllListeners('close');
    socket.removeAllListeners('error');
    socket.on('error', () => {}); // a broker stopped under us: the counts say so
    // The broker drops a client silent for 1.5 × keepalive [MQTT-3.1.2-24]; a subscriber only reads.
    sub.#pinger = setInterval(() => sub.#send(Buffer.from([PINGREQ << 4, 0])), 30_000);
    sub.#pinger.unref();
    return sub;
  }

  close(): void {
    clearInterval(this.#pinger);
    if (!this.#socket.destroyed) this.#socket.end(Buffer.from([DISCONNECT << 4, 0]));
    this.#socket.destroySoon();
  }

  #send(buf: Buffer): void {
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(buf);
  }

  #onData(chunk: Buffer): void {
    this.#frames.push(chunk, (first, body) => this.#onPacket(first, body));
  }

  #onPacket(first: number, body: Buffer): void {
    switch (first >> 4) {
      case PUBLISH: {
        const qos = (first >> 1) & 3;
        const topicLength = body.readUInt16BE(0);
        let payloadStart = 2 + topicLength;
        if (qos > 0) {
          const id = body.readUInt16BE(payloadStart);
          payloadStart += 2;
          this.#send(Buffer.from([PUBACK << 4, 2, id >> 8, id & 0xff]));
        }
        this.received++;
        this.lastReceivedAt = Date.now();
        try {
          const t = (JSON.parse(body.toString('utf8', payloadStart)) as { metrics?: { t?: unknown } }).metrics?.t;
          // Whole ms like the dashboard probe: `t` is Date.now() in the load generator.
          if (typeof t === 'number') this.latency.record(Date.now() - t);
        } catch {
          // Not a load payload: counted, not timed.
        }
        break;
      }
      case CONNACK:
        this.#onConnack?.(body[1] ?? 255);
        break;
      case SUBACK:
        this.#onSuback?.(body[2] ?? 0x80);
        break;
      default:
        break; // PINGRESP and anything else: nothing to do
    }
  }
}
