/**
 * The one thing load mode needs from an MQTT client: connect, publish with
 * a callback that fires exactly once, end. Two implementations: a lean
 * MQTT 3.1.1 publisher (the default, so the load generator spends little of
 * the CPU it shares with the hub) and mqtt.js (to cross-check it).
 */
export interface LoadPublisher {
  readonly connected: boolean;
  /**
   * QoS 1: `done` on PUBACK. QoS 0: `done` once the socket took the bytes.
   * `done(err)` when the connection is lost first. Fires exactly once.
   */
  publish(topic: Buffer, payload: string, qos: 0 | 1, done: (err?: Error) => void): void;
  /** Closes (DISCONNECT when possible); pending publishes fail. */
  end(): Promise<void>;
}

export interface PublisherConnectOptions {
  url: string;
  clientId: string;
  username: string;
  password: string;
  keepaliveSec: number;
  connectTimeoutMs: number;
}

export type PublisherKind = 'lite' | 'mqttjs';
