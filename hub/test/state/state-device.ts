/**
 * A device for state tests that speaks either transport the same way: it
 * connects ready for desired state (MQTT subscribed to its own `#`, WS
 * welcomed), collects every `desired` it receives, and sends `hello` and
 * `state`, each resolving on the hub's durable acknowledgement (PUBACK or
 * ack) so a test can then assert hub state.
 */
import type { DesiredMessage, DesiredPatchRequest, DeviceStateView, HelloMessage, Transport } from '@iot-hub/protocol';
import { collectMessages, connectMqtt, deviceSocket, eventually } from '../helpers/clients.js';
import type { TestHub } from '../helpers/hub.js';

interface TapLike {
  teardown(fn: () => unknown): void;
}

export const TRANSPORTS: readonly Transport[] = ['mqtt', 'ws'];

export interface StateDevice {
  /** Every `desired` received on this connection, in order. */
  desired(): DesiredMessage[];
  /** Resolves with the `count`-th desired message (1-based) once it arrived. */
  nthDesired(count: number): Promise<DesiredMessage>;
  hello(fields: Omit<HelloMessage, 'v' | 'type'>): Promise<void>;
  report(state: Record<string, unknown>, extra?: { version?: number; refused?: Record<string, string> }): Promise<void>;
  close(): Promise<void>;
}

export async function connectStateDevice(t: TapLike, hub: TestHub, transport: Transport, id: string, token: string): Promise<StateDevice> {
  const device = transport === 'mqtt' ? await mqttDevice(t, hub, id, token) : await wsDevice(t, hub, id, token);
  return {
    ...device,
    nthDesired: (count) => eventually(() => device.desired()[count - 1], 5000, `desired message #${count}`),
  };
}

async function mqttDevice(t: TapLike, hub: TestHub, id: string, token: string): Promise<Omit<StateDevice, 'nthDesired'>> {
  const client = await connectMqtt(t, hub, id, token);
  const messages = collectMessages(client);
  await client.subscribeAsync(`devices/${id}/#`, { qos: 1 });
  const publish = async (channel: string, body: unknown) => {
    // QoS 1: the PUBACK comes once the hub stored what the message changed.
    await client.publishAsync(`devices/${id}/${channel}`, JSON.stringify(body), { qos: 1 });
  };
  return {
    desired: () => messages.filter((m) => m.topic === `devices/${id}/desired`).map((m) => m.payload as unknown as DesiredMessage),
    hello: (fields) => publish('hello', fields),
    report: (state, extra = {}) => publish('state', { state, ...extra }),
    close: () => client.endAsync(),
  };
}

let mid = 0;
async function wsDevice(t: TapLike, hub: TestHub, id: string, token: string): Promise<Omit<StateDevice, 'nthDesired'>> {
  const socket = await deviceSocket(t, hub, id, token);
  await socket.next((f) => f.type === 'welcome');
  const send = async (frame: Record<string, unknown>) => {
    const m = `m${++mid}`;
    socket.send({ v: 1, ...frame, mid: m });
    const answer = await socket.next((f) => (f.type === 'ack' && f.mid === m) || (f.type === 'error' && f.ref === m));
    if (answer.type === 'error') throw new Error(`hub refused ${String(frame.type)}: ${JSON.stringify(answer)}`);
  };
  return {
    desired: () => socket.frames.filter((f) => f.type === 'desired') as unknown as DesiredMessage[],
    hello: (fields) => send({ type: 'hello', ...fields }),
    report: (state, extra = {}) => send({ type: 'state', state, ...extra }),
    close: async () => {
      socket.ws.close(1000);
      await socket.closed;
    },
  };
}

export async function patchDesired(hub: TestHub, id: string, body: DesiredPatchRequest): Promise<DeviceStateView> {
  const res = await hub.api('PATCH', `/api/devices/${id}/state/desired`, body);
  if (res.status !== 200) throw new Error(`PATCH desired of ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as DeviceStateView;
}

export async function stateOf(hub: TestHub, id: string): Promise<DeviceStateView> {
  const res = await hub.api('GET', `/api/devices/${id}/state`);
  if (res.status !== 200) throw new Error(`GET state of ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as DeviceStateView;
}

/** The values of a view's reported or desired entries, without their times. */
export function values(entries: DeviceStateView['reported']): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entries).map(([key, e]) => [key, e.value]));
}
