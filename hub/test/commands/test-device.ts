/**
 * A device for command tests that speaks either transport the same way:
 * connect (ready for commands: MQTT subscribed, WS welcomed), hello, collect
 * commands, answer with results. Every send resolves on the hub's durable
 * acknowledgement (PUBACK or WS ack), so a test can then assert hub state.
 */
import type { MqttClient } from 'mqtt';
import type { CommandMessage, CommandSpec, CommandView, Transport } from '@iot-hub/protocol';
import { connectMqtt, deviceSocket, eventually, type JsonSocket } from '../helpers/clients.js';
import type { TestHub } from '../helpers/hub.js';

interface TapLike {
  teardown(fn: () => unknown): void;
}

export const TRANSPORTS: readonly Transport[] = ['mqtt', 'ws'];

/** What test devices declare: one command with a required, bounded parameter and one without. */
export const DECLARED: Record<string, CommandSpec> = {
  boost: { params: { minutes: { type: 'integer', unit: 'min', min: 5, max: 120, required: true } } },
  identify: { description: 'blink' },
};

export interface ResultInput {
  id: string;
  status: 'acknowledged' | 'succeeded' | 'failed';
  result?: unknown;
  error?: string;
}

export interface TestDevice {
  readonly id: string;
  readonly token: string;
  /** Every command received on this and earlier connections, in order. */
  readonly commands: CommandMessage[];
  /** Error messages the hub sent the device. */
  readonly errors: Record<string, unknown>[];
  connect(): Promise<void>;
  hello(commands?: Record<string, CommandSpec>): Promise<void>;
  /** Resolves when `count` commands in all have arrived. */
  waitForCommands(count: number): Promise<CommandMessage[]>;
  result(result: ResultInput): Promise<void>;
  /** One reading; resolves once the hub acknowledged it (PUBACK / ack). */
  telemetry(metrics: Record<string, number>): Promise<void>;
  disconnect(): Promise<void>;
}

export async function provisionDevice(t: TapLike, hub: TestHub, transport: Transport, id: string): Promise<TestDevice> {
  const { token } = await hub.provision(id, 'thermostat');
  return attachDevice(t, hub, transport, id, token);
}

/** A device already provisioned (on this hub or before its restart). */
export function attachDevice(t: TapLike, hub: TestHub, transport: Transport, id: string, token: string): TestDevice {
  return transport === 'mqtt' ? mqttDevice(t, hub, id, token) : wsDevice(t, hub, id, token);
}

function mqttDevice(t: TapLike, hub: TestHub, id: string, token: string): TestDevice {
  let client: MqttClient | null = null;
  const commands: CommandMessage[] = [];
  const errors: Record<string, unknown>[] = [];
  const publish = async (channel: string, payload: unknown) => {
    if (!client) throw new Error('not connected');
    await client.publishAsync(`devices/${id}/${channel}`, JSON.stringify(payload), { qos: 1 });
  };
  return {
    id,
    token,
    commands,
    errors,
    async connect() {
      const c = await connectMqtt(t, hub, id, token);
      c.on('message', (topic, payload) => {
        const message = JSON.parse(payload.toString()) as Record<string, unknown>;
        if (topic.endsWith('/commands')) commands.push(message as unknown as CommandMessage);
        if (topic.endsWith('/errors')) errors.push(message);
      });
      // Commands follow the subscription [FP-3.1].
      await c.subscribeAsync(`devices/${id}/#`, { qos: 1 });
      client = c;
    },
    hello: (declared = DECLARED) => publish('hello', { kind: 'thermostat', commands: declared }),
    waitForCommands: (count) => eventually(() => (commands.length >= count ? commands : null), 5000, `${count} commands at ${id}`),
    result: (r) => publish('results', r),
    telemetry: (metrics) => publish('telemetry', { metrics }),
    async disconnect() {
      const c = client;
      client = null;
      await c?.endAsync();
      await eventually(async () => ((await hub.api('GET', `/api/devices/${id}`)).body as { presence: { status: string } }).presence.status === 'offline', 3000, `${id} offline`);
    },
  };
}

function wsDevice(t: TapLike, hub: TestHub, id: string, token: string): TestDevice {
  let socket: JsonSocket | null = null;
  let mid = 0;
  const commands: CommandMessage[] = [];
  const errors: Record<string, unknown>[] = [];
  const send = async (frame: Record<string, unknown>) => {
    const s = socket;
    if (!s) throw new Error('not connected');
    mid += 1;
    const m = mid;
    s.send({ v: 1, mid: m, ...frame });
    await s.next((f) => f.type === 'ack' && f.mid === m);
  };
  return {
    id,
    token,
    commands,
    errors,
    async connect() {
      const s = await deviceSocket(t, hub, id, token);
      s.ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as Record<string, unknown>;
        if (frame.type === 'command') commands.push(frame as unknown as CommandMessage);
        if (frame.type === 'error') errors.push(frame);
      });
      // Commands may follow `welcome` at once [FP-4.4]; frames before this listener are in s.frames.
      for (const f of s.frames) if (f.type === 'command') commands.push(f as unknown as CommandMessage);
      await s.next((f) => f.type === 'welcome');
      socket = s;
    },
    hello: (declared = DECLARED) => send({ type: 'hello', kind: 'thermostat', commands: declared }),
    waitForCommands: (count) => eventually(() => (commands.length >= count ? commands : null), 5000, `${count} commands at ${id}`),
    result: (r) => send({ type: 'result', ...r }),
    telemetry: (metrics) => send({ type: 'telemetry', metrics }),
    async disconnect() {
      const s = socket;
      socket = null;
      if (!s) return;
      s.ws.close(1000);
      await s.closed;
      await eventually(async () => ((await hub.api('GET', `/api/devices/${id}`)).body as { presence: { status: string } }).presence.status === 'offline', 3000, `${id} offline`);
    },
  };
}

export async function getCommand(hub: TestHub, id: string): Promise<CommandView> {
  const res = await hub.api('GET', `/api/commands/${id}`);
  if (res.status !== 200) throw new Error(`GET command ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as CommandView;
}

/** Polls the API until the command is in `state`. */
export function commandInState(hub: TestHub, id: string, state: CommandView['state'], timeoutMs = 5000): Promise<CommandView> {
  return eventually(async () => {
    const c = await getCommand(hub, id);
    return c.state === state ? c : null;
  }, timeoutMs, `command ${id} ${state}`);
}

export async function postCommand(
  hub: TestHub,
  deviceId: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: CommandView }> {
  const res = await hub.api('POST', `/api/devices/${deviceId}/commands`, body, headers);
  return { status: res.status, body: res.body as CommandView };
}
