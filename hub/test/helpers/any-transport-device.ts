/**
 * One device on either transport, for tests that check the same behaviour on
 * MQTT and on the WebSocket: send() resolves once the hub acknowledged the
 * message (PUBACK, `ack`), with the error the hub sent about it if any.
 */
import type { HistoryResponse, Transport } from '@iot-hub/protocol';
import { collectMessages, connectMqtt, deviceSocket, eventually } from './clients.js';
import type { TestHub } from './hub.js';

interface TapLike {
  teardown(fn: () => unknown): void;
}

export const TRANSPORTS: readonly Transport[] = ['mqtt', 'ws'];

/** `type` and `v` are added where the transport needs them. */
export type DeviceMessageBody = Record<string, unknown> & { type: 'hello' | 'telemetry' | 'state' | 'ping' };

export interface AnyDevice {
  /** Resolves with null once acknowledged, or with the `error` the hub sent about the message. */
  send(message: DeviceMessageBody): Promise<Record<string, unknown> | null>;
  /** Every hub → device message so far (MQTT: on the device's subscribed topics). */
  received(): Record<string, unknown>[];
  close(): Promise<void>;
}

let mids = 0;

export async function connectDevice(t: TapLike, hub: TestHub, transport: Transport, id: string, token: string): Promise<AnyDevice> {
  if (transport === 'mqtt') {
    const client = await connectMqtt(t, hub, id, token);
    const messages = collectMessages(client);
    await client.subscribeAsync(`devices/${id}/#`, { qos: 1 });
    return {
      async send({ type, ...body }) {
        const errorsBefore = messages.filter((m) => m.topic.endsWith('/errors')).length;
        const channel = type === 'telemetry' ? 'telemetry' : type;
        // A QoS 1 ping is not what devices do, but acknowledged it tells the test it was handled.
        await client.publishAsync(`devices/${id}/${channel}`, JSON.stringify(body), { qos: 1 });
        // The error is published before the PUBACK, on the same connection: it is here by now.
        const errors = messages.filter((m) => m.topic.endsWith('/errors'));
        return errors.length > errorsBefore ? (errors.at(-1)?.payload ?? null) : null;
      },
      received: () => messages.map((m) => m.payload),
      close: () => client.endAsync().then(() => undefined),
    };
  }
  const ws = await deviceSocket(t, hub, id, token);
  await ws.next((f) => f.type === 'welcome');
  return {
    async send(body) {
      const mid = `m${++mids}`;
      ws.send({ v: 1, ...body, mid });
      const answer = await ws.next((f) => (f.type === 'ack' && f.mid === mid) || (f.type === 'error' && f.ref === mid) || (body.type === 'ping' && f.type === 'pong'), 10_000);
      return answer.type === 'error' ? answer : null;
    },
    received: () => ws.frames,
    async close() {
      ws.ws.close(1000);
      await ws.closed;
    },
  };
}

/** Every stored value of one metric, as raw points (one per stored reading), in time order. */
export async function storedPoints(hub: TestHub, id: string, metric: string): Promise<{ ts: number; value: number }[]> {
  const res = await hub.api('GET', `/api/devices/${id}/telemetry?metric=${metric}&from=0&maxPoints=10000`);
  const history = res.body as HistoryResponse;
  if (res.status !== 200 || history.bucketMs !== 0) throw new Error(`expected raw history, got ${res.status} ${JSON.stringify(res.body)}`);
  return (history.series[0]?.points ?? []).map((p) => ({ ts: p.ts, value: p.avg }));
}

/** The stored values of a metric, sorted, once the hub has the expected number of them. */
export async function storedValues(hub: TestHub, id: string, metric: string, expected: number): Promise<number[]> {
  // Acknowledged means stored: this only guards against reading the store before its reader sees the commit.
  const points = await eventually(async () => {
    const p = await storedPoints(hub, id, metric);
    return p.length >= expected ? p : null;
  }, 10_000, `${expected} stored values of ${metric}`).catch(() => storedPoints(hub, id, metric));
  return points.map((p) => p.value).sort((a, b) => a - b);
}
