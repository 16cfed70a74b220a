/**
 * Probe devices for the rules benchmark: real MQTT devices that declare the
 * load metrics, then each send one reading across its rule's threshold at a
 * planned time; the caller times crossing → webhook.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { LOAD_CAPABILITIES, type DeviceCredentials } from '@iot-hub/device-sim';
import { deviceTopic } from '@iot-hub/protocol';

export interface Probe {
  id: string;
  client: MqttClient;
  seq: number;
}

export async function connectProbes(mqttUrl: string, devices: readonly DeviceCredentials[]): Promise<Probe[]> {
  const probes: Probe[] = [];
  for (const d of devices) {
    const client = await mqtt.connectAsync(mqttUrl, { clientId: d.id, username: d.id, password: d.token, reconnectPeriod: 0, clean: true });
    // A probe that errors is reported by its missing crossing, not by a crash of the benchmark.
    client.on('error', () => undefined);
    await client.publishAsync(deviceTopic(d.id, 'hello'), JSON.stringify(LOAD_CAPABILITIES), { qos: 1 });
    probes.push({ id: d.id, client, seq: 0 });
  }
  return probes;
}

/** One QoS 1 reading; resolves at the PUBACK (after the hub stored it). */
export async function probeRead(p: Probe, temperature: number): Promise<void> {
  const payload = JSON.stringify({ metrics: { temperature, humidity: 40, t: Date.now() }, seq: p.seq++ });
  await p.client.publishAsync(deviceTopic(p.id, 'telemetry'), payload, { qos: 1 });
}

export async function closeProbes(probes: readonly Probe[]): Promise<void> {
  await Promise.all(probes.map((p) => p.client.endAsync().catch(() => undefined)));
}
