/**
 * A lean MQTT 3.1.1 publisher for load mode: CONNECT, PUBLISH (QoS 0/1),
 * PUBACK, PINGREQ, DISCONNECT and nothing else (no subscriptions, no
 * session store, no reconnect). One preallocated Buffer per publish and
 * corked writes per tick keep the per-message cost a fraction of mqtt.js's,
 * so a benchmark measures the hub rather than its client.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import type { LoadPublisher, PublisherConnectOptions } from './publisher.js';
import { MqttFrames } from './mqtt-frames.js';

/** Control packet types [MQTT-2.2.1]. */
const CONNECT = 1;
const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const PINGREQ = 12;
const PINGRESP = 13;
const DISCONNECT = 14;

/** CONNACK return codes [MQTT-3.2.2.3]. */
const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

export class ConnectRefusedError extends Error {
  readonly returnCode: number;
  constructor(returnCode: number) {
    super(`Connection refused: ${CONNACK_REASONS[returnCode] ?? `return code ${returnCode}`}`);
    this.name = 'ConnectRefusedError';
    this.returnCode = returnCode;
  }
}

function varintLength(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

/** Writes the remaining-length varint at `offset` [MQTT-2.2.3]; returns the next offset. */
function writeVarint(buf: Buffer, offset: number, n: number): number {
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    buf[offset++] = byte;
  } while (n > 0);
  return offset;
}

function encodeConnect(o: PublisherConnectOptions): Buffer {
  const strings = [Buffer.from('MQTT'), Buffer.from(o.clientId), Buffer.from(o.username), Buffer.from(o.password)];
  const remaining = 2 + 4 + 1 + 1 + 2 + 2 + (strings[1] as Buffer).length + 2 + (strings[2] as Buffer).length + 2 + (strings[3] as Buffer).length;
  const buf = Buffer.allocUnsafe(1 + varintLength(remaining) + remaining);
  buf[0] = CONNECT << 4;
  let at = writeVarint(buf, 1, remaining);
  const writeString = (s: Buffer): void => {
    buf.writeUInt16BE(s.length, at);
    s.copy(buf, at + 2);
    at += 2 + s.length;
  };
  writeString(strings[0] as Buffer);
  buf[at++] = 4; // protocol level 3.1.1
  buf[at++] = 0x80 | 0x40 | 0x02; // user name, password, clean session
  buf.writeUInt16BE(o.keepaliveSec, at);
  at += 2;
  for (const s of strings.slice(1)) writeString(s);
  return buf;
}

export class LiteMqttPublisher implements LoadPublisher {
  readonly #socket: Socket;
  readonly #pending = new Map<number, (err?: Error) => void>();
  readonly #keepaliveMs: number;
  #nextId = 1;
  readonly #frames = new MqttFrames();
  #connected = false;
  #closed = false;
  #corked = false;
  #lastSend = Date.now();
  #pinger: NodeJS.Timeout | undefined;
  #onConnack: ((err?: Error) => void) | undefined;

  private constructor(socket: Socket, keepaliveSec: number) {
    this.#socket = socket;
    this.#keepaliveMs = keepaliveSec * 1000;
  }

  static connect(options: PublisherConnectOptions): Promise<LiteMqttPublisher> {
    const url = new URL(options.url);
    if (url.protocol !== 'mqtt:' && url.protocol !== 'tcp:') {
      return Promise.reject(new Error(`the lite publisher speaks plain mqtt:// only, got ${url.protocol}`));
    }
    const socket = tcpConnect({ host: url.hostname, port: Number(url.port || 1883), noDelay: true });
    const publisher = new LiteMqttPublisher(socket, options.keepaliveSec);
    return new Promise<LiteMqttPublisher>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no CONNACK within ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);
      publisher.#onConnack = (err) => {
        clearTimeout(timer);
        publisher.#onConnack = undefined;
        if (err) {
          socket.destroy();
          reject(err);
        } else {
          publisher.#connected = true;
          publisher.#startPinger();
          resolve(publisher);
        }
      };
      socket.on('connect', () => socket.write(encodeConnect(options)));
      socket.on('data', (chunk: Buffer) => publisher.#onData(chunk));
      socket.on('error', (err) => publisher.#onConnack?.(err));
      socket.on('close', () => {
        publisher.#onConnack?.(new Error('connection closed before CONNACK'));
        publisher.#closeDown(new Error('Connection closed'));
      });
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  publish(topic: Buffer, payload: string, qos: 0 | 1, done: (err?: Error) => void): void {
    if (!this.#connected) {
      done(new Error('not connected'));
      return;
    }
    const payloadLength = Buffer.byteLength(payload);
    const remaining = 2 + topic.length + (qos === 1 ? 2 : 0) + payloadLength;
    const buf = Buffer.allocUnsafe(1 + varintLength(remaining) + remaining);
    buf[0] = (PUBLISH << 4) | (qos << 1);
    let at = writeVarint(buf, 1, remaining);
    buf.writeUInt16BE(topic.length, at);
    topic.copy(buf, at + 2);
    at += 2 + topic.length;
    if (qos === 1) {
      const id = this.#allocateId();
      buf.writeUInt16BE(id, at);
      at += 2;
      this.#pending.set(id, done);
    }
    buf.write(payload, at, 'utf8');
    this.#send(buf, qos === 0 ? done : undefined);
  }

  async end(): Promise<void> {
    if (this.#closed) return;
    if (this.#connected) {
      await new Promise<void>((resolve) => {
        this.#socket.end(Buffer.from([DISCONNECT << 4, 0]), () => resolve());
        setTimeout(resolve, 1000).unref();
      });
    }
    this.#socket.destroy();
    this.#closeDown(new Error('Connection closed'));
  }

  #allocateId(): number {
    // Ids are reused only after 65,535 publishes; a window of a few in flight never collides.
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id === 0xffff ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
  }

  /** Corks the socket for the rest of this tick: many small publishes leave in one write. */
  #send(buf: Buffer, written?: (err?: Error) => void): void {
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#lastSend = Date.now();
    if (written) this.#socket.write(buf, (err) => written(err ?? undefined));
    else this.#socket.write(buf);
  }

  #startPinger(): void {
    // The broker drops a client silent for 1.5 × keepalive [MQTT-3.1.2-24]: ping when idle.
    this.#pinger = setInterval(() => {
      if (Date.now() - this.#lastSend >= this.#keepaliveMs / 2) this.#send(Buffer.from([PINGREQ << 4, 0]));
    }, this.#keepaliveMs / 2);
    this.#pinger.unref();
  }

  #onData(chunk: Buffer): void {
    this.#frames.push(chunk, (first, body) => this.#onPacket(first >> 4, first & 0x0f, body));
  }

  #onPacket(type: number, flags: number, body: Buffer): void {
    switch (type) {
      case PUBACK: {
        const id = body.readUInt16BE(0);
        const done = this.#pending.get(id);
        if (done) {
          this.#pending.delete(id);
          done();
        }
        break;
      }
      case CONNACK: {
        const code = body[1] ?? 255;
        this.#onConnack?.(code === 0 ? undefined : new ConnectRefusedError(code));
        break;
      }
      case PUBLISH: {
        // Not subscribed, so not expected; acknowledge a QoS 1 delivery anyway [MQTT-4.3.2].
        if (((flags >> 1) & 3) === 1) {
          const topicLength = body.readUInt16BE(0);
          const id = body.readUInt16BE(2 + topicLength);
          this.#send(Buffer.from([PUBACK << 4, 2, id >> 8, id & 0xff]));
        }
        break;
      }
      case PINGRESP:
        break;
      default:
        break;
    }
  }

  #closeDown(err: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    clearInterval(this.#pinger);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const done of pending) done(err);
  }
}
