/**
 * One lean MQTT 3.1.1 device connection for the conns and storm benchmarks:
 * a raw socket, packets encoded by hand, and only what a device that holds
 * its connection does [FP-3.1]: CONNECT with its id, token and will, then
 * (in the `device` handshake) SUBSCRIBE to `devices/{id}/#` and a QoS 1
 * `hello`, PUBACK for whatever the broker sends at QoS 1, PINGREQ when told.
 * No session store, no reconnect, no timers of its own: 10,000 of these in
 * one process must cost the client little CPU and memory.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { MqttFrames } from '@iot-hub/device-sim';
import { CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, PINGREQ, encodeConnect, packet, str } from './mqtt-wire.js';

/** Packet ids used by the handshake. */
const SUBSCRIBE_ID = 1;
const HELLO_ID = 2;

export type Handshake = 'connect' | 'device';

export interface IdleMqttOptions {
  host: string;
  port: number;
  id: string;
  token: string;
  keepaliveSec: number;
  handshake: Handshake;
  /** The `hello` payload ([FP-4.1]); only sent in the `device` handshake. */
  hello: string;
}

export interface IdleMqttEvents {
  /** CONNACK with return code 0: the broker accepted the device. */
  accepted(): void;
  /** The handshake finished (at CONNACK for `connect`, at SUBACK + hello's PUBACK for `device`). */
  ready(): void;
  /** Failed before ready: `reason` is short and stable, for counting. */
  failed(reason: string): void;
  /** Closed after ready, not by us. */
  lost(): void;
}

/** CONNECT with user name, password, clean session and the will of [FP-6]: `devices/{id}/status`, QoS 1, retained. */
function encodeDeviceConnect(o: IdleMqttOptions): Buffer {
  return encodeConnect(o.id, o.id, o.token, o.keepaliveSec, { topic: `devices/${o.id}/status`, payload: '{"status":"offline"}' });
}

function encodeHandshake(o: IdleMqttOptions): Buffer {
  const ids = Buffer.allocUnsafe(4);
  ids.writeUInt16BE(SUBSCRIBE_ID, 0);
  ids.writeUInt16BE(HELLO_ID, 2);
  // Subscribe before hello [FP-3.1 "When the hub sends"]; both leave in one write.
  const subscribe = packet((SUBSCRIBE << 4) | 0x02, [ids.subarray(0, 2), str(`devices/${o.id}/#`), Buffer.from([1])]);
  const hello = packet((PUBLISH << 4) | (1 << 1), [str(`devices/${o.id}/hello`), ids.subarray(2, 4), Buffer.from(o.hello, 'utf8')]);
  return Buffer.concat([subscribe, hello]);
}

const PINGREQ_PACKET = Buffer.from([PINGREQ << 4, 0]);

export class IdleMqttConnection {
  readonly #socket: Socket;
  readonly #options: IdleMqttOptions;
  readonly #events: IdleMqttEvents;
  readonly #frames = new MqttFrames();
  #state: 'connecting' | 'handshaking' | 'ready' | 'done' = 'connecting';
  #waiting = 0;

  constructor(options: IdleMqttOptions, events: IdleMqttEvents) {
    this.#options = options;
    this.#events = events;
    this.#socket = tcpConnect({ host: options.host, port: options.port, noDelay: true });
    this.#socket.on('connect', () => this.#socket.write(encodeDeviceConnect(options)));
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', (err: NodeJS.ErrnoException) => this.#fail(err.code ?? 'socket error'));
    this.#socket.on('close', () => {
      if (this.#state === 'ready') {
        this.#state = 'done';
        this.#events.lost();
      } else this.#fail('closed before ready');
    });
  }

  get ready(): boolean {
    return this.#state === 'ready';
  }

  ping(): void {
    if (this.#state === 'ready') this.#socket.write(PINGREQ_PACKET);
  }

  /** Drops the connection without DISCONNECT, as a device losing its network does (the broker publishes the will). */
  destroy(): void {
    if (this.#state !== 'done') this.#fail('destroyed');
    this.#state = 'done';
    this.#socket.destroy();
  }

  #fail(reason: string): void {
    if (this.#state === 'done' || this.#state === 'ready') return;
    this.#state = 'done';
    this.#socket.destroy();
    this.#events.failed(reason);
  }

  #onData(chunk: Buffer): void {
    this.#frames.push(chunk, (first, body) => this.#onPacket(first, body));
  }

  #onPacket(first: number, body: Buffer): void {
    const type = first >> 4;
    if (type === CONNACK && this.#state === 'connecting') {
      const code = body[1] ?? 255;
      if (code !== 0) return this.#fail(`CONNACK ${code}`);
      this.#events.accepted();
      if (this.#options.handshake === 'connect') return this.#becomeReady();
      this.#state = 'handshaking';
      this.#waiting = 2;
      this.#socket.write(encodeHandshake(this.#options));
    } else if (type === SUBACK && body.readUInt16BE(0) === SUBSCRIBE_ID) {
      if (body[2] === 0x80) return this.#fail('SUBACK failure');
      this.#handshakeStep();
    } else if (type === PUBACK && body.readUInt16BE(0) === HELLO_ID) {
      this.#handshakeStep();
    } else if (type === PUBLISH && ((first >> 1) & 3) === 1) {
      // Desired state, a command or (from a bare broker) the echo of our hello: acknowledge it.
      const topicLength = body.readUInt16BE(0);
      this.#socket.write(Buffer.from([PUBACK << 4, 2, body[2 + topicLength] as number, body[3 + topicLength] as number]));
    }
  }

  #handshakeStep(): void {
    if (this.#state === 'handshaking' && --this.#waiting === 0) this.#becomeReady();
  }

  #becomeReady(): void {
    this.#state = 'ready';
    this.#events.ready();
  }
}
