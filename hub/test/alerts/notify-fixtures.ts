/**
 * For the notification tests: alert views as the rule engine emits them on
 * the hub's bus (the interface between the two parts), and a real local HTTP
 * receiver that records every webhook request and answers as told.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertNotification, AlertState, AlertView, NotifierCreateResponse, NotifierListResponse, NotifierView } from '@iot-hub/protocol';
import type { TestHub } from '../helpers/hub.js';

interface TapLike {
  teardown(fn: () => unknown): void;
}

export function alertView(over: Partial<AlertView> & Pick<AlertView, 'ruleId' | 'deviceId' | 'state'>): AlertView {
  const now = Date.now();
  return {
    id: `${over.ruleId}:${over.deviceId}`,
    ruleName: `rule ${over.ruleId}`,
    severity: 'critical',
    startedAt: now - 1000,
    firedAt: over.state === 'pending' ? null : now,
    resolvedAt: over.state === 'resolved' ? now : null,
    since: now,
    value: 31.5,
    summary: `${over.deviceId} is too warm`,
    acknowledged: null,
    silencedUntil: null,
    ...over,
  };
}

/** What the rule engine does after storing a transition. */
export function transition(hub: TestHub, alert: AlertView, from: AlertState | null): void {
  hub.hub.events.emit('alert', { alert, from });
}

/** pending → firing for one alert per device. */
export function fire(hub: TestHub, ruleId: string, deviceIds: readonly string[], over: Partial<AlertView> = {}): AlertView[] {
  return deviceIds.map((deviceId) => {
    const alert = alertView({ ruleId, deviceId, state: 'firing', ...over });
    transition(hub, alert, 'pending');
    return alert;
  });
}

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered. */
  status: number;
  notification: AlertNotification;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Requests answered 2xx. */
  delivered(): ReceivedRequest[];
  /** Resolves once `n` requests matched, or rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number, which?: (r: ReceivedRequest) => boolean): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** `answer(n)`: the status of the n-th request (0-based). */
export async function startReceiver(t: TapLike, answer: (n: number) => number = () => 200): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = answer(requests.length);
      requests.push({ headers: req.headers, body, status, notification: JSON.parse(body) as AlertNotification });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts`,
    requests,
    delivered: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    async waitFor(n, timeoutMs = 10_000, which = () => true) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const matching = requests.filter(which);
        if (matching.length >= n) return matching;
        if (Date.now() > until) throw new Error(`waited ${timeoutMs} ms for ${n} webhook requests, got ${matching.length}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close,
  };
}

/** How a receiver checks a delivery: HMAC-SHA256 of the exact body under the shared secret (docs/notifications.md). */
export function signatureValid(secret: string, body: string, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(body).digest('hex'));
  const got = Buffer.from(header.slice('sha256='.length));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export async function createWebhook(hub: TestHub, url: string, extra: Record<string, unknown> = {}): Promise<NotifierCreateResponse> {
  const res = await hub.api('POST', '/api/notifiers', { type: 'webhook', name: 'ops', url, ...extra });
  if (res.status !== 201) throw new Error(`creating a webhook failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as NotifierCreateResponse;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function notifierView(hub: TestHub, id: string): Promise<NotifierView> {
  const list = (await hub.api('GET', '/api/notifiers')).body as NotifierListResponse;
  const found = list.notifiers.find((n) => n.id === id);
  if (!found) throw new Error(`no notifier ${id}`);
  return found;
}

export async function waitUntil(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
