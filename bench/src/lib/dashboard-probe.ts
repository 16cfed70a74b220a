/**
 * One dashboard socket subscribed to every device's telemetry: counts the
 * live events and times publish → push from the `t` metric (epoch ms at
 * send) that load mode puts in every payload.
 */
import WebSocket from 'ws';
import { DASHBOARD_SUBPROTOCOL, type DashboardServerFrame } from '@iot-hub/protocol';
import { LatencyRecorder } from '@iot-hub/device-sim';

export class DashboardProbe {
  readonly latency = new LatencyRecorder();
  events = 0;
  /** Sum of `dropped` of overflow events: the hub shed load on this socket. */
  dropped = 0;
  overflows = 0;
  /** Wall clock of the last telemetry event. */
  lastEventAt = 0;
  #ws: WebSocket | undefined;

  async connect(httpUrl: string, adminToken: string): Promise<void> {
    const url = `${httpUrl.replace(/^http/, 'ws')}/ws/dashboard`;
    const ws = new WebSocket(url, [DASHBOARD_SUBPROTOCOL, `bearer.${adminToken}`]);
    this.#ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`dashboard socket refused: HTTP ${res.statusCode}`)));
    });
    const subscribed = new Promise<void>((resolve, reject) => {
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as DashboardServerFrame;
        if ('event' in frame) {
          if (frame.event === 'telemetry') {
            const now = Date.now();
            this.events++;
            this.lastEventAt = now;
            const t = frame.metrics.t;
            if (typeof t === 'number') this.latency.record(now - t);
          } else if (frame.event === 'overflow') {
            this.overflows++;
            this.dropped += frame.dropped;
          }
        } else if (frame.id === 1) {
          if (frame.status === 'ok') resolve();
          else reject(new Error(`dashboard subscribe refused: ${frame.error}: ${frame.message}`));
        }
      });
    });
    ws.send(JSON.stringify({ id: 1, op: 'subscribe', devices: '*', events: ['telemetry'] }));
    await subscribed;
  }

  close(): void {
    this.#ws?.close();
  }
}
