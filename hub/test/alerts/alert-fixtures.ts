/**
 * Devices, rules and alert queries for alerting tests: real devices over the
 * device WebSocket (hello with declared metrics, telemetry acknowledged),
 * rules through the HTTP API, alerts read back through it.
 */
import type { AlertHistoryEntry, AlertRule, AlertView, CommandSpec, MetricSpec, RuleInput, RuleWriteResponse } from '@iot-hub/protocol';
import { connectDevice, type AnyDevice } from '../helpers/any-transport-device.js';
import { dashboardSocket, eventually, type JsonSocket } from '../helpers/clients.js';
import type { TestHub } from '../helpers/hub.js';

interface TapLike {
  teardown(fn: () => unknown): void;
}

export interface Sensor extends AnyDevice {
  id: string;
  token: string;
  /** One reading; throws unless the hub acknowledged it. */
  read(metrics: Record<string, number | boolean>): Promise<void>;
}

export async function sensor(
  t: TapLike,
  hub: TestHub,
  id: string,
  options: { kind?: string; metrics?: Record<string, MetricSpec>; commands?: Record<string, CommandSpec>; token?: string } = {},
): Promise<Sensor> {
  const kind = options.kind ?? 'sensor';
  const token = options.token ?? (await hub.provision(id, kind)).token;
  const device = await connectDevice(t, hub, 'ws', id, token);
  const hello = await device.send({ type: 'hello', kind, metrics: options.metrics ?? { temp: { type: 'number' } }, commands: options.commands ?? {} });
  if (hello !== null) throw new Error(`hello of ${id} refused: ${JSON.stringify(hello)}`);
  return {
    ...device,
    id,
    token,
    async read(metrics) {
      const error = await device.send({ type: 'telemetry', metrics });
      if (error !== null) throw new Error(`telemetry of ${id} refused: ${JSON.stringify(error)}`);
    },
  };
}

export async function createRule(hub: TestHub, input: Partial<RuleInput> & Pick<RuleInput, 'condition' | 'scope'>): Promise<AlertRule> {
  const res = await hub.api('POST', '/api/rules', { name: 'test rule', severity: 'warning', ...input });
  if (res.status !== 201) throw new Error(`creating a rule failed: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as RuleWriteResponse).rule;
}

export async function alerts(hub: TestHub, query = ''): Promise<AlertView[]> {
  const res = await hub.api('GET', `/api/alerts${query}`);
  if (res.status !== 200) throw new Error(`GET /api/alerts${query}: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { alerts: AlertView[] }).alerts;
}

export async function history(hub: TestHub, query = ''): Promise<AlertHistoryEntry[]> {
  const res = await hub.api('GET', `/api/alerts/history${query}`);
  if (res.status !== 200) throw new Error(`GET /api/alerts/history${query}: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { entries: AlertHistoryEntry[] }).entries;
}

/** The alert of (rule, device) once it is in `state` (resolved ones are read with ?state=resolved). */
export function alertIn(hub: TestHub, ruleId: string, deviceId: string, state: AlertView['state'], timeoutMs = 5000): Promise<AlertView> {
  return eventually(async () => {
    const list = await alerts(hub, `?ruleId=${ruleId}&deviceId=${deviceId}${state === 'resolved' ? '&state=resolved' : ''}`);
    return list.find((a) => a.state === state) ?? null;
  }, timeoutMs, `alert of ${ruleId} on ${deviceId} ${state}`);
}

/** A dashboard socket subscribed to every device's alert events. */
export async function alertWatcher(t: TapLike, hub: TestHub): Promise<JsonSocket & { alerts(): AlertView[] }> {
  const dash = await dashboardSocket(t, hub);
  dash.send({ id: 1, op: 'subscribe', devices: '*', events: ['alert'] });
  await dash.next((f) => f.id === 1);
  return Object.assign(dash, { alerts: () => dash.frames.filter((f) => f.event === 'alert').map((f) => f.alert as AlertView) });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
