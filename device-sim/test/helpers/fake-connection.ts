/**
 * A DeviceConnection without a network, for driving a SimulatedDevice in
 * tests: records what the device sends and lets the test play the hub.
 */
import { EventEmitter } from 'node:events';
import type { Capabilities, StateMessage, StateValue } from '@iot-hub/protocol';
import { DeviceSimError } from '../../src/transports/errors.js';
import { stateBody, type BatchSample, type DeviceConnection, type DeviceConnectionEvents, type ResultInput, type TelemetryInput } from '../../src/transports/connection.js';

export type Sent =
  | { kind: 'hello'; body: Capabilities }
  | { kind: 'telemetry'; body: TelemetryInput & { seq: number } }
  | { kind: 'batch'; body: readonly BatchSample[] }
  | { kind: 'state'; body: Pick<StateMessage, 'state' | 'version' | 'refused'> }
  | { kind: 'result'; body: ResultInput };

type BodyOf<K extends Sent['kind']> = Extract<Sent, { kind: K }>['body'];

export class FakeConnection extends EventEmitter<DeviceConnectionEvents> implements DeviceConnection {
  readonly transport = 'mqtt' as const;
  readonly sent: Sent[] = [];
  connected = false;
  /** Kinds the fake hub leaves unacknowledged (the send fails with ack_timeout). */
  readonly unanswered = new Set<Sent['kind']>();
  #seq = 0;

  constructor(readonly deviceId = 'fake-1') {
    super();
  }

  connect(): Promise<void> {
    this.connected = true;
    this.emit('connected');
    return Promise.resolve();
  }

  sendHello(capabilities: Capabilities): Promise<void> {
    return this.#record({ kind: 'hello', body: capabilities });
  }

  async sendTelemetry(sample: TelemetryInput): Promise<number> {
    const seq = sample.seq ?? this.#seq++;
    await this.#record({ kind: 'telemetry', body: { ...sample, seq } });
    return seq;
  }

  sendBatch(samples: readonly BatchSample[]): Promise<void> {
    return this.#record({ kind: 'batch', body: samples });
  }

  /** The link drops (as the transports report it): sends fail until reconnect(). */
  lose(): void {
    this.connected = false;
    this.emit('disconnected', 'test');
  }

  reconnect(): void {
    this.connected = true;
    this.emit('connected');
  }

  nextSeq(): number {
    return this.#seq++;
  }

  sendState(state: Record<string, StateValue>, version?: number, refused: Record<string, string> = {}): Promise<void> {
    return this.#record({ kind: 'state', body: stateBody(state, version, refused) });
  }

  sendResult(result: ResultInput): Promise<void> {
    return this.#record({ kind: 'result', body: result });
  }

  close(): Promise<void> {
    this.connected = false;
    return Promise.resolve();
  }

  of<K extends Sent['kind']>(kind: K): BodyOf<K>[] {
    return this.sent.filter((s) => s.kind === kind).map((s) => s.body as BodyOf<K>);
  }

  #record(sent: Sent): Promise<void> {
    if (!this.connected) return Promise.reject(new DeviceSimError('not_connected', 'not connected'));
    if (this.unanswered.has(sent.kind)) return Promise.reject(new DeviceSimError('ack_timeout', `no ack for ${sent.kind}`));
    this.sent.push(sent);
    return Promise.resolve();
  }
}

/** Lets queued promise callbacks run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
