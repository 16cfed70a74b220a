/**
 * A small MQTT device (mqtt.js) written to the spec, with one fault on
 * demand, for the runner to find. Without a fault it does everything FP-9
 * asks: subscribes, publishes its status, hello with a boot, its state,
 * a reading every second with ts and seq (kept while offline and sent as a
 * batch after reconnecting), commands executed once per id and never past
 * expiresAt, desired state applied and reported with its version.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { CommandMessage, DesiredMessage, StateValue } from '@iot-hub/protocol';

export const FAULTS = ['executes-duplicates', 'ignores-expiry', 'stale-version', 'skips-heartbeats', 'restarts-seq', 'batch-top-level-ts'] as const;
export type Fault = (typeof FAULTS)[number];

export const FAKE_HEARTBEAT_SEC = 5;
const SAMPLE_MS = 1000;

interface TapLike {
  teardown(fn: () => unknown): void;
}

interface Sample {
  ts: number;
  seq: number;
  metrics: Record<string, number>;
}

export interface FakeDevice {
  readonly id: string;
  /** Resolves once connected, subscribed and announced (hello, state). */
  ready: Promise<void>;
}

export function startFakeDevice(t: TapLike, mqttUrl: string, id: string, token: string, fault?: Fault): FakeDevice {
  const topic = (channel: string) => `devices/${id}/${channel}`;
  const client: MqttClient = mqtt.connect(mqttUrl, {
    clientId: id,
    username: id,
    password: token,
    // Slow enough for the runner to change desired state while the device is away.
    reconnectPeriod: 1000,
    will: { topic: topic('status'), payload: Buffer.from('{"status":"offline"}'), qos: 1, retain: true },
  });

  const state: Record<string, StateValue> = { mode: 'heat', target: 21 };
  let applied: number | undefined;
  let seq = 0;
  let count = 0;
  let executions = 0;
  let connects = 0;
  /** Hello and state are out on this connection: readings may go straight out. */
  let announced = false;
  const backlog: Sample[] = [];
  const results = new Map<string, Record<string, unknown>>();
  const publish = (channel: string, body: unknown) => client.publishAsync(topic(channel), JSON.stringify(body), { qos: 1, retain: channel === 'status' });
  const reportState = () => publish('state', { state, ...(applied === undefined ? {} : { version: applied }) });

  const onCommand = async (command: CommandMessage) => {
    const known = results.get(command.id);
    if (known && fault !== 'executes-duplicates') return publish('results', known);
    let result: Record<string, unknown>;
    if (command.expiresAt !== undefined && Date.now() >= command.expiresAt && fault !== 'ignores-expiry') {
      result = { id: command.id, status: 'failed', error: 'expired before it could start' };
    } else {
      executions += 1;
      result = { id: command.id, status: 'succeeded', result: { executions } };
    }
    results.set(command.id, result);
    return publish('results', result);
  };

  const onDesired = async (desired: DesiredMessage) => {
    for (const [key, value] of Object.entries(desired.state)) if (value !== null && Object.hasOwn(state, key)) state[key] = value;
    // The stale device applies the values but never says which version it applied.
    if (fault !== 'stale-version') applied = desired.version;
    return reportState();
  };

  client.on('message', (t, payload) => {
    const message = JSON.parse(payload.toString()) as CommandMessage | DesiredMessage;
    const done = t.endsWith('/commands') ? onCommand(message as CommandMessage) : t.endsWith('/desired') ? onDesired(message as DesiredMessage) : undefined;
    done?.catch(() => {});
  });

  const ready = new Promise<void>((resolve) => {
    client.on('connect', () => {
      connects += 1;
      if (fault === 'restarts-seq' && connects > 1) seq = 0;
      void (async () => {
        await client.subscribeAsync(topic('#'), { qos: 1 });
        await publish('status', { status: 'online' });
        await publish('hello', {
          kind: 'thermostat',
          fw: 'fake-1.0',
          boot: 1,
          heartbeatSec: FAKE_HEARTBEAT_SEC,
          metrics: { count: { type: 'number' } },
          commands: { identify: {}, boost: { params: { minutes: { type: 'integer', min: 5, max: 120, required: true } } } },
        });
        await reportState();
        // Telemetry only after hello [FP-4.1]: what was taken meanwhile goes as a batch.
        announced = true;
        if (backlog.length > 0) {
          const samples = backlog.splice(0).sort((a, b) => a.seq - b.seq);
          await publish('telemetry', fault === 'batch-top-level-ts' ? { ts: Date.now(), samples } : { samples });
        }
        resolve();
      })().catch(() => {});
    });
  });

  const takeSample = () => {
    if (fault === 'skips-heartbeats') return;
    const sample: Sample = { ts: Date.now(), seq: seq++, metrics: { count: count++ } };
    if (announced) publish('telemetry', sample).catch(() => backlog.push(sample));
    else backlog.push(sample);
  };
  const sampleTimer = setInterval(takeSample, SAMPLE_MS);
  t.teardown(async () => {
    clearInterval(sampleTimer);
    await client.endAsync(true);
  });
  // A reading taken as the link goes down, so there is a backlog to send as a batch after reconnecting.
  client.on('close', () => {
    announced = false;
    // mqtt.js would resend unacknowledged publishes first thing on the next
    // connect, before hello [FP-4.1]: drop them here instead; each rejected
    // reading goes back to the backlog and out in the batch after hello.
    for (const messageId of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(messageId));
    takeSample();
  });

  return { id, ready };
}
