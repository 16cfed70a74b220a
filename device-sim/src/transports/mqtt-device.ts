/**
 * A simulated device over MQTT 3.1.1 [FP-3.1]: username = device id,
 * password = token; a retained last will `{"status":"offline"}` on
 * devices/{id}/status and a retained `online` after every connect [FP-6];
 * QoS 1 publishes whose PUBACK means "stored durably".
 *
 * mqtt.js's own reconnect uses a fixed period and, through reconnect(),
 * drops its store; so each link is a fresh client with reconnectPeriod 0 and
 * the base class reconnects with backoff.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import {
  deviceTopic,
  parseTopic,
  type CommandMessage,
  type DesiredMessage,
  type DeviceChannel,
  type ErrorMessage,
  type HubChannel,
} from '@iot-hub/protocol';
import { DeviceConnectionBase, type ConnectionOptions, type OutgoingKind } from './connection.js';
import { DeviceSimError, networkError } from './errors.js';

export interface MqttDeviceOptions extends ConnectionOptions {
  /** mqtt://host:port or mqtts://host:port */
  url: string;
  /** Keepalive in seconds (default 30). */
  keepaliveSec?: number;
}

const CHANNEL_OF: Record<OutgoingKind, DeviceChannel> = {
  hello: 'hello',
  telemetry: 'telemetry',
  state: 'state',
  result: 'results',
  status: 'status',
};

/** Channels the hub publishes to a device [FP-3.1]. */
const SUBSCRIBED: readonly HubChannel[] = ['commands', 'desired', 'errors'];

const OFFLINE = JSON.stringify({ v: 1, status: 'offline' });
const ONLINE = JSON.stringify({ v: 1, status: 'online' });

/** CONNACK return codes of MQTT 3.1.1 [MQTT-3.2.2.3]. */
const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

export class MqttDevice extends DeviceConnectionBase {
  readonly transport = 'mqtt' as const;
  readonly #url: string;
  readonly #keepaliveSec: number;
  #client: MqttClient | undefined;

  constructor(options: MqttDeviceOptions) {
    super(options);
    this.#url = options.url;
    this.#keepaliveSec = options.keepaliveSec ?? 30;
  }

  protected openLink(): Promise<void> {
    const options: IClientOptions = {
      protocolVersion: 4,
      clientId: this.deviceId,
      username: this.deviceId,
      password: this.token,
      clean: true,
      keepalive: this.#keepaliveSec,
      reconnectPeriod: 0,
      connectTimeout: this.connectTimeoutMs,
      will: { topic: deviceTopic(this.deviceId, 'status'), payload: Buffer.from(OFFLINE), qos: 1, retain: true },
    };
    const client = connect(this.#url, options);
    this.#client = client;

    return new Promise<void>((resolve, reject) => {
      let open = false;
      client.on('error', (err) => {
        const error = classifyMqttError(err, this.#url);
        if (!open) {
          open = true; // settle once
          client.end(true);
          reject(error);
        }
        // After connect, errors are followed by `close`, handled below.
      });
      client.on('close', () => {
        if (!open) {
          open = true;
          client.end(true);
          reject(new DeviceSimError('unreachable', `MQTT connection to ${this.#url} closed before CONNACK`));
          return;
        }
        if (this.#client !== client) return;
        this.#client = undefined;
        // end(true) with reconnectPeriod 0 fails every pending publish callback: nothing hangs.
        void endClient(client, false);
        this.linkLost(new DeviceSimError('connection_lost', `MQTT connection to ${this.#url} lost`));
      });
      client.on('message', (topic, payload) => this.#onMessage(topic, payload));
      client.on('connect', () => {
        if (open) return;
        open = true;
        // Nagle would hold small publishes back for an ACK: latency, not throughput, matters here.
        (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
        client.subscribe(
          SUBSCRIBED.map((channel) => deviceTopic(this.deviceId, channel)),
          { qos: 1 },
          (err) => {
            if (err) this.emit('warning', `subscribe failed: ${err.message}`);
          },
        );
        // Retained, so the hub and late subscribers see it; the will overwrites it on loss [FP-6].
        client.publish(deviceTopic(this.deviceId, 'status'), ONLINE, { qos: 1, retain: true }, (err) => {
          if (err) this.emit('warning', `online status not acknowledged: ${err.message}`);
        });
        resolve();
      });
    });
  }

  protected async closeLink(graceful: boolean): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    if (graceful && client.connected) {
      // A clean DISCONNECT suppresses the will, so say offline ourselves [FP-6].
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        client.publish(deviceTopic(this.deviceId, 'status'), OFFLINE, { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await endClient(client, graceful);
  }

  protected deliver(kind: OutgoingKind, body: Record<string, unknown>): Promise<void> {
    const client = this.#client;
    if (!client?.connected) {
      return Promise.reject(new DeviceSimError('not_connected', `device ${this.deviceId} is not connected`));
    }
    const payload = JSON.stringify({ v: 1, ...body });
    return new Promise<void>((resolve, reject) => {
      client.publish(deviceTopic(this.deviceId, CHANNEL_OF[kind]), payload, { qos: 1 }, (err) => {
        if (err) reject(new DeviceSimError('connection_lost', `${kind} not acknowledged: ${err.message}`));
        else resolve();
      });
    });
  }

  protected deliverRaw(kind: OutgoingKind, payload: string): Promise<void> {
    const client = this.#client;
    if (!client?.connected) {
      return Promise.reject(new DeviceSimError('not_connected', `device ${this.deviceId} is not connected`));
    }
    return new Promise<void>((resolve, reject) => {
      client.publish(deviceTopic(this.deviceId, CHANNEL_OF[kind]), payload, { qos: 1 }, (err) => {
        if (err) reject(new DeviceSimError('connection_lost', `raw ${kind} not acknowledged: ${err.message}`));
        else resolve();
      });
    });
  }

  protected breakLink(): void {
    // The TCP socket dies without DISCONNECT: the broker publishes the will [FP-6].
    this.#client?.stream.destroy();
  }

  protected pauseReading(): void {
    // mqtt.js pipes the socket into its parser; an explicit pause() holds until resume().
    this.#client?.stream.pause();
  }

  protected resumeReading(): void {
    this.#client?.stream.resume();
  }

  #onMessage(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed || parsed.deviceId !== this.deviceId) {
      this.emit('warning', `message on unexpected topic ${topic}`);
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(payload.toString('utf8'));
    } catch {
      this.emit('warning', `bad JSON on ${topic}`);
      return;
    }
    if (typeof message !== 'object' || message === null) {
      this.emit('warning', `non-object message on ${topic}`);
      return;
    }
    switch (parsed.channel) {
      case 'commands':
        this.emit('command', message as CommandMessage);
        break;
      case 'desired':
        this.emit('desired', message as DesiredMessage);
        break;
      case 'errors':
        // MQTT has no per-message reply [FP-8]: errors arrive on their own topic.
        this.emit('hubError', message as ErrorMessage);
        break;
      default:
        this.emit('warning', `message on device channel ${topic}`);
    }
  }
}

/**
 * Ends an mqtt.js client without hanging: end(false) waits for every pending
 * QoS 1 ack (forever, if the broker went away) and end() after that is a
 * no-op, so DISCONNECT only when nothing is pending, and destroy the socket
 * if even that stalls.
 */
function endClient(client: MqttClient, graceful: boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.stream?.destroy();
      resolve();
    }, 2_000);
    const clean = graceful && client.connected && Object.keys(client.outgoing).length === 0;
    client.end(!clean, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function classifyMqttError(err: Error, url: string): DeviceSimError {
  const code = (err as Error & { code?: unknown }).code;
  if (typeof code === 'number') {
    const reason = CONNACK_REASONS[code] ?? `return code ${code}`;
    if (code === 4 || code === 5) return new DeviceSimError('unauthorized', `MQTT broker at ${url} refused the device: ${reason}`);
    if (code === 2) return new DeviceSimError('rejected', `MQTT broker at ${url} refused the device: ${reason}`);
    return new DeviceSimError('unreachable', `MQTT broker at ${url} refused the connection: ${reason}`);
  }
  return networkError(err, `MQTT broker at ${url}`);
}
