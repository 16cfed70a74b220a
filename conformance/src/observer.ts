/**
 * What the runner sees of the device: the hub's dashboard socket, subscribed
 * to the device's raw messages (`in`: what it sent and the hub took apart;
 * `out`: what the hub sent it), presence and state. Every event is kept in
 * arrival order with the local time it arrived, so checks can wait for one
 * ("a state with version ≥ 7 after this point") and read the whole run later.
 */
import WebSocket from 'ws';
import { DASHBOARD_SUBPROTOCOL, type DashboardEvent, type DashboardServerFrame, type PresenceInfo } from '@iot-hub/protocol';

export interface Seen {
  /** Position in the run: later events have larger indexes. */
  index: number;
  /** Local epoch ms it arrived. */
  at: number;
  kind: 'in' | 'out' | 'presence' | 'state' | 'overflow';
  /** Protocol message type of an `in` / `out` message. */
  type?: string;
  /** The message, parsed; null if the hub cut it (over 4 KiB) or it is not an object. */
  body?: Record<string, unknown> | null;
  presence?: PresenceInfo;
}

interface Waiter {
  from: number;
  match: (s: Seen) => boolean;
  resolve: (s: Seen | null) => void;
  timer: NodeJS.Timeout;
}

export class Observer {
  readonly seen: Seen[] = [];
  private readonly waiters = new Set<Waiter>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => this.onFrame(String(data)));
  }

  /** Opens the socket and subscribes to the device; rejects if the hub refuses either. */
  static async open(hubUrl: string, token: string, deviceId: string): Promise<Observer> {
    const url = new URL('/ws/dashboard', hubUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url, [DASHBOARD_SUBPROTOCOL], { headers: { authorization: `Bearer ${token}` } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`the dashboard socket was refused: HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    const observer = new Observer(ws);
    const answer = new Promise<DashboardServerFrame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to subscribe within 10 s')), 10_000);
      ws.on('message', function onAnswer(data) {
        const frame = JSON.parse(String(data)) as DashboardServerFrame;
        if ('id' in frame && frame.id === 'conformance') {
          clearTimeout(timer);
          ws.off('message', onAnswer);
          resolve(frame);
        }
      });
    });
    ws.send(JSON.stringify({ id: 'conformance', op: 'subscribe', devices: [deviceId], events: ['message', 'state', 'presence'] }));
    const frame = await answer;
    if ('status' in frame && frame.status === 'error') {
      ws.terminate();
      throw new Error(`subscribing to ${deviceId} failed: ${frame.error}: ${frame.message}`);
    }
    return observer;
  }

  /** Index the next event will get: pass it as `from` to wait for what happens after now. */
  get mark(): number {
    return this.seen.length;
  }

  /** The first event at or after `from` that matches, or null after `timeoutMs`. */
  waitFor(match: (s: Seen) => boolean, timeoutMs: number, from = 0): Promise<Seen | null> {
    const found = this.seen.slice(from).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        from,
        match,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(null);
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  close(): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve(null);
    }
    this.waiters.clear();
    this.ws.terminate();
  }

  private onFrame(text: string): void {
    let frame: DashboardServerFrame;
    try {
      frame = JSON.parse(text) as DashboardServerFrame;
    } catch {
      return;
    }
    if (!('event' in frame)) return;
    const seen = toSeen(frame, this.seen.length);
    if (!seen) return;
    this.seen.push(seen);
    for (const w of [...this.waiters]) {
      if (seen.index >= w.from && w.match(seen)) {
        clearTimeout(w.timer);
        this.waiters.delete(w);
        w.resolve(seen);
      }
    }
  }
}

function toSeen(event: DashboardEvent, index: number): Seen | null {
  const at = Date.now();
  switch (event.event) {
    case 'message':
      return { index, at, kind: event.direction, type: event.type, body: event.truncated ? null : parseObject(event.body) };
    case 'presence':
      return { index, at, kind: 'presence', presence: event.presence };
    case 'state':
      return { index, at, kind: 'state' };
    case 'overflow':
      return { index, at, kind: 'overflow' };
    default:
      return null;
  }
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Small matchers the checks share. */
export const is = {
  in: (type: string) => (s: Seen) => s.kind === 'in' && s.type === type,
  online: (s: Seen) => s.kind === 'presence' && s.presence?.status === 'online',
  offline: (s: Seen) => s.kind === 'presence' && s.presence?.status !== 'online',
};
