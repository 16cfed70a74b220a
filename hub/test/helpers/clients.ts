/** Real MQTT and WebSocket clients for tests, with teardown and small waiting helpers. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { DASHBOARD_SUBPROTOCOL } from '@iot-hub/protocol';
import type { TestHub } from './hub.js';

interface TapLike {
  teardown(fn: () => unknown): void;
}

/** Connects a device over MQTT; rejects with the CONNACK error if refused. */
export async function connectMqtt(t: TapLike, hub: TestHub, id: string, token: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(hub.mqttUrl, { clientId: id, username: id, password: token, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  t.teardown(() => client.endAsync(true));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
  return client;
}

/** Collects messages on the device's topics. */
export function collectMessages(client: MqttClient): { topic: string; payload: Record<string, unknown> }[] {
  const messages: { topic: string; payload: Record<string, unknown> }[] = [];
  client.on('message', (topic, payload) => {
    try {
      messages.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> });
    } catch {
      messages.push({ topic, payload: { raw: payload.toString() } });
    }
  });
  return messages;
}

export interface JsonSocket {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  send(frame: unknown): void;
  /** Resolves with the first frame (already received or future) that matches. */
  next(match: (frame: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

export function jsonSocket(t: TapLike, url: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}): Promise<JsonSocket> {
  const ws = new WebSocket(url, options.protocols ?? [], options);
  t.teardown(() => ws.terminate());
  const frames: Record<string, unknown>[] = [];
  const waiters: { match: (f: Record<string, unknown>) => boolean; resolve: (f: Record<string, unknown>) => void }[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    frames.push(frame);
    for (const w of [...waiters]) {
      if (w.match(frame)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(frame);
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const socket: JsonSocket = {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next(match, timeoutMs = 5000) {
      const found = frames.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`)), timeoutMs);
        waiters.push({ match, resolve: (f) => (clearTimeout(timer), resolve(f)) });
      });
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { statusCode: res.statusCode })));
    ws.once('error', reject);
  });
}

export function deviceSocket(t: TapLike, hub: TestHub, id: string, token: string): Promise<JsonSocket> {
  return jsonSocket(t, `${hub.wsUrl}/ws/device`, { headers: { authorization: 'Basic ' + Buffer.from(`${id}:${token}`).toString('base64') } });
}

export function dashboardSocket(t: TapLike, hub: TestHub, token = hub.adminToken): Promise<JsonSocket> {
  return jsonSocket(t, `${hub.wsUrl}/ws/dashboard`, { protocols: [DASHBOARD_SUBPROTOCOL, `bearer.${token}`] });
}

/** Polls until check() returns a truthy value or the timeout passes. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resolves when the MQTT client's connection closes. */
export function mqttClosed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

/** The HTTP status an upgrade was refused with, or 'open' if it succeeded. */
export async function upgradeStatus(socket: Promise<JsonSocket>): Promise<number | 'open'> {
  try {
    await socket;
    return 'open';
  } catch (err) {
    return (err as { statusCode?: number }).statusCode ?? -1;
  }
}
