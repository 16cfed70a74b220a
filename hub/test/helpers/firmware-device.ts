/**
 * A device that behaves like firmware for cluster failure tests: one MQTT
 * client that reconnects by itself (to HAProxy or a node), says hello on
 * every connection, sends QoS 1 telemetry with `ts` and `seq` from a named
 * boot [FP-4.2], and executes commands once per id, answering a repeated id
 * with its previous result [FP-4.4]. It counts what the hub did to it, so a
 * test can assert that no acknowledged reading and no command went wrong.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { CommandMessage } from '@iot-hub/protocol';
import { DECLARED } from '../commands/test-device.js';

interface TapLike {
  teardown(fn: () => unknown): void;
}

export interface FirmwareDevice {
  readonly id: string;
  readonly client: MqttClient;
  /** Seqs whose PUBACK arrived. */
  readonly acked: number[];
  /** Deliveries per command id (the hub resends unfinished commands on each connection). */
  readonly deliveries: Map<string, number>;
  /** Executions per command id: what a device without the FP-4.4 duplicate check would have done. */
  readonly executions: Map<string, number>;
  /** Deliveries of a command after the hub acknowledged (PUBACK) its final result: a finished command sent again. */
  readonly afterFinal: Map<string, number>;
  /** Times the connection closed. */
  closes: number;
  /** Times it connected (the first included). */
  connects: number;
  /** Longest time between two consecutive PUBACKs, ms (while sending). */
  maxAckGapMs: number;
  /** Starts sending one reading every `periodMs` until stop(). */
  startTelemetry(periodMs: number): void;
  /** Stops sending; resolves once the readings in flight settled (or after `timeoutMs`). */
  stopTelemetry(timeoutMs?: number): Promise<void>;
}

export interface FirmwareDeviceOptions {
  url: string;
  id: string;
  token: string;
  /** How long the device takes to execute a command before its final result. */
  commandMs?: number | ((commandId: string) => number);
  reconnectMs?: number;
}

/** Connects (resolves on the first CONNACK); the client is ended at teardown. */
export async function firmwareDevice(t: TapLike, options: FirmwareDeviceOptions): Promise<FirmwareDevice> {
  const { url, id, token, commandMs = 0, reconnectMs = 250 } = options;
  const client = mqtt.connect(url, { clientId: id, username: id, password: token, reconnectPeriod: reconnectMs, connectTimeout: 5_000, clean: true, keepalive: 30 });
  t.teardown(() => client.endAsync(true));
  /** Command ids seen: their final result, null while running. */
  const results = new Map<string, Record<string, unknown> | null>();
  const finalAcked = new Set<string>();
  let sending = false;
  let inFlight: Promise<void> = Promise.resolve();
  const device: FirmwareDevice = {
    id,
    client,
    acked: [],
    deliveries: new Map(),
    executions: new Map(),
    afterFinal: new Map(),
    closes: 0,
    connects: 0,
    maxAckGapMs: 0,
    startTelemetry(periodMs) {
      sending = true;
      inFlight = (async () => {
        let seq = 0;
        let lastAck = Date.now();
        while (sending) {
          const s = seq++;
          const started = Date.now();
          try {
            await client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ ts: Date.now(), seq: s, metrics: { seq: s } }), { qos: 1 });
            device.acked.push(s);
            const now = Date.now();
            device.maxAckGapMs = Math.max(device.maxAckGapMs, now - lastAck);
            lastAck = now;
          } catch {
            // Not acknowledged: the device does not count it.
          }
          await sleep(Math.max(0, periodMs - (Date.now() - started)));
        }
      })();
    },
    async stopTelemetry(timeoutMs = 20_000) {
      sending = false;
      await Promise.race([inFlight, sleep(timeoutMs)]);
    },
  };
  const count = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);
  const answer = (commandId: string, result: Record<string, unknown>): void => {
    client.publishAsync(`devices/${id}/results`, JSON.stringify(result), { qos: 1 }).then(
      () => {
        if (result.status === 'succeeded') finalAcked.add(commandId);
      },
      () => undefined, // the next delivery of the command gets the answer again
    );
  };
  client.on('message', (topic, payload) => {
    if (!topic.endsWith('/commands')) return;
    const command = JSON.parse(payload.toString()) as CommandMessage;
    count(device.deliveries, command.id);
    if (finalAcked.has(command.id)) count(device.afterFinal, command.id);
    if (results.has(command.id)) {
      // A duplicate: answered with the previous result, or (still running) with nothing yet, the final one follows.
      const previous = results.get(command.id);
      if (previous) answer(command.id, previous);
      return;
    }
    results.set(command.id, null);
    count(device.executions, command.id);
    const result = { id: command.id, status: 'succeeded', result: { executedBy: id } };
    answer(command.id, { id: command.id, status: 'acknowledged' });
    setTimeout(() => {
      results.set(command.id, result);
      answer(command.id, result);
    }, typeof commandMs === 'function' ? commandMs(command.id) : commandMs);
  });
  client.on('close', () => (device.closes += 1));
  client.on('connect', () => {
    device.connects += 1;
    // Commands follow the subscription [FP-3.1]; hello names the boot, so resent seqs are recognised on any node.
    void client.subscribeAsync(`devices/${id}/commands`, { qos: 1 }).then(
      () => client.publishAsync(`devices/${id}/hello`, JSON.stringify({ kind: 'thermostat', boot: 1, commands: DECLARED }), { qos: 1 }),
      () => undefined,
    ).catch(() => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    setTimeout(() => reject(new Error(`${id} did not connect to ${url}`)), 15_000).unref();
  });
  return device;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The (device, seq) pairs InfluxDB holds for metric `seq`, counted. */
export async function storedSeqs(influx: { query(q: string, db: string): Promise<{ results: { series?: { values: unknown[][] }[] }[] }> }, database: string): Promise<Map<string, Map<number, number>>> {
  const res = await influx.query(`SELECT "value", "device" FROM "raw"."telemetry" WHERE "metric" = 'seq'`, database);
  const stored = new Map<string, Map<number, number>>();
  for (const row of res.results[0]?.series?.[0]?.values ?? []) {
    const device = String(row[2]);
    const seqs = stored.get(device) ?? new Map<number, number>();
    stored.set(device, seqs);
    const seq = Number(row[1]);
    seqs.set(seq, (seqs.get(seq) ?? 0) + 1);
  }
  return stored;
}

/** Acknowledged readings missing from InfluxDB, and readings stored more than once. */
export function compareSeqs(devices: readonly FirmwareDevice[], stored: Map<string, Map<number, number>>): { acked: number; missing: string[]; doubled: string[] } {
  let acked = 0;
  const missing: string[] = [];
  const doubled: string[] = [];
  for (const d of devices) {
    acked += d.acked.length;
    const got = stored.get(d.id) ?? new Map<number, number>();
    for (const s of d.acked) if (!got.has(s)) missing.push(`${d.id}#${s}`);
    for (const [s, n] of got) if (n > 1) doubled.push(`${d.id}#${s}×${n}`);
  }
  return { acked, missing, doubled };
}
