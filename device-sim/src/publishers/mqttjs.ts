/** Load publisher on mqtt.js: slower than the lite one, kept to cross-check it. */
import { connect, type MqttClient } from 'mqtt';
import type { LoadPublisher, PublisherConnectOptions } from './publisher.js';

export class MqttJsPublisher implements LoadPublisher {
  readonly #client: MqttClient;

  private constructor(client: MqttClient) {
    this.#client = client;
  }

  static connect(options: PublisherConnectOptions): Promise<MqttJsPublisher> {
    return new Promise<MqttJsPublisher>((resolve, reject) => {
      const client = connect(options.url, {
        protocolVersion: 4,
        clientId: options.clientId,
        username: options.username,
        password: options.password,
        clean: true,
        keepalive: options.keepaliveSec,
        reconnectPeriod: 0,
        connectTimeout: options.connectTimeoutMs,
      });
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        client.end(true);
        reject(err);
      };
      client.on('error', fail);
      client.on('close', () => {
        if (!settled) fail(new Error('connection closed before CONNACK'));
        // A lost connection leaves QoS 1 callbacks pending in mqtt.js: a forced end fails them, so counts stay exact.
        else if (!client.disconnecting) client.end(true);
      });
      client.on('connect', () => {
        (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
        settled = true;
        resolve(new MqttJsPublisher(client));
      });
    });
  }

  get connected(): boolean {
    return this.#client.connected;
  }

  publish(topic: Buffer, payload: string, qos: 0 | 1, done: (err?: Error) => void): void {
    this.#client.publish(topic.toString(), payload, { qos }, (err) => done(err ?? undefined));
  }

  end(): Promise<void> {
    return new Promise<void>((resolve) => this.#client.end(true, {}, () => resolve()));
  }
}
