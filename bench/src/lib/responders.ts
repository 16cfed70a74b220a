/**
 * Devices that answer every command at once with `succeeded`: the far end
 * of a command round trip. They are device-sim's own connections (MqttDevice,
 * WsDevice: the protocol as firmware speaks it, TCP_NODELAY on MQTT), so the
 * benchmark times the hub and not a hand-made client. A few of them can use
 * the WebSocket transport, spread evenly over the fleet.
 */
import { performance } from 'node:perf_hooks';
import type { Capabilities, CommandMessage, Transport } from '@iot-hub/protocol';
import { deviceWsUrl, mapConcurrent, MqttDevice, WsDevice, type DeviceConnection, type DeviceCredentials } from '@iot-hub/device-sim';

/** What every responder declares in `hello` [FP-4.1]: one command without params. */
export const RESPONDER_CAPABILITIES: Capabilities = {
  kind: 'bench-responder',
  fw: 'bench',
  metrics: {},
  commands: { ping: { description: 'answered at once with succeeded' } },
  // The longest heartbeat the protocol allows: results are all these devices send, and an idle one must not go offline mid-run [FP-5].
  heartbeatSec: 3600,
};

export const RESPONDER_COMMAND = 'ping';

export interface ResponderStats {
  /** Command messages received (a redelivered id counts again). */
  received: number;
  answered: number;
  /** `result` sends that were not acknowledged (PUBACK / ack). */
  answerFailed: number;
  /** Links that dropped during the run (device-sim reconnects them with backoff). */
  disconnects: number;
  /** Links that gave up for good (refused, replaced). */
  fatal: number;
  /** Distinct messages of the above, with counts. */
  problems: Record<string, number>;
}

export interface ResponderFleetOptions {
  hubUrl: string;
  mqttUrl: string;
  devices: readonly DeviceCredentials[];
  /** How many of `devices` connect over the WebSocket instead of MQTT. */
  wsDevices: number;
  /** Called as a command arrives, before it is answered; `at` is performance.now(). */
  onCommand: (deviceId: string, command: CommandMessage, at: number) => void;
  connectConcurrency?: number;
}

export class ResponderFleet {
  readonly stats: ResponderStats = { received: 0, answered: 0, answerFailed: 0, disconnects: 0, fatal: 0, problems: {} };
  readonly #connections: DeviceConnection[] = [];
  readonly #transport = new Map<string, Transport>();

  /** Connects every device and sends its hello (resolves once each hello is acknowledged); rejects on the first that fails. */
  static async start(options: ResponderFleetOptions): Promise<ResponderFleet> {
    const fleet = new ResponderFleet();
    const wsEvery = options.wsDevices > 0 ? Math.max(1, Math.floor(options.devices.length / options.wsDevices)) : 0;
    let wsLeft = options.wsDevices;
    const plan = options.devices.map((device, i) => {
      const ws = wsEvery > 0 && i % wsEvery === 0 && wsLeft-- > 0;
      return { device, transport: (ws ? 'ws' : 'mqtt') as Transport };
    });
    try {
      await mapConcurrent(plan, options.connectConcurrency ?? 100, async ({ device, transport }) => {
        const connection: DeviceConnection =
          transport === 'ws'
            ? new WsDevice({ id: device.id, token: device.token, url: deviceWsUrl(options.hubUrl) })
            : new MqttDevice({ id: device.id, token: device.token, url: options.mqttUrl, keepaliveSec: 60 });
        fleet.#connections.push(connection);
        fleet.#transport.set(device.id, transport);
        fleet.#wire(connection, options.onCommand);
        await connection.connect();
        await connection.sendHello(RESPONDER_CAPABILITIES);
      });
    } catch (err) {
      await fleet.stop();
      throw err;
    }
    return fleet;
  }

  transportOf(deviceId: string): Transport | undefined {
    return this.#transport.get(deviceId);
  }

  get size(): number {
    return this.#connections.length;
  }

  count(transport: Transport): number {
    let n = 0;
    for (const t of this.#transport.values()) if (t === transport) n++;
    return n;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#connections.map((c) => c.close().catch(() => {})));
  }

  #wire(connection: DeviceConnection, onCommand: ResponderFleetOptions['onCommand']): void {
    const problem = (message: string): void => {
      this.stats.problems[message] = (this.stats.problems[message] ?? 0) + 1;
    };
    connection.on('command', (command) => {
      const at = performance.now();
      this.stats.received++;
      onCommand(connection.deviceId, command, at);
      // At once, and also for a redelivered id: the hub ignores a result for a command it has ended [FP-4.5].
      connection.sendResult({ id: command.id, status: 'succeeded' }).then(
        () => {
          this.stats.answered++;
        },
        (err: unknown) => {
          this.stats.answerFailed++;
          problem(`result: ${(err as Error).message}`);
        },
      );
    });
    // A hello after every reconnect, as firmware must [FP-4.1]; the first is sent (and awaited) by start().
    let connects = 0;
    connection.on('connected', () => {
      if (connects++ === 0) return;
      connection.sendHello(RESPONDER_CAPABILITIES).catch((err: unknown) => problem(`hello after reconnect: ${(err as Error).message}`));
    });
    connection.on('disconnected', (reason) => {
      this.stats.disconnects++;
      problem(`disconnected: ${reason}`);
    });
    connection.on('fatal', (error) => {
      this.stats.fatal++;
      problem(`fatal: ${error.message}`);
    });
    connection.on('hubError', (error) => problem(`hub error: ${error.error}: ${error.message}`));
  }
}
