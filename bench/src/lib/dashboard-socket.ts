/**
 * A benchmark's dashboard socket: connects with the admin token, subscribes
 * every device to the event kinds a probe wants, counts overflow notices and
 * hands every other event on with its receive time (performance.now(), taken
 * before anything else is done with the frame).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { DASHBOARD_SUBPROTOCOL, type DashboardEvent, type DashboardEventKind, type DashboardServerFrame } from '@iot-hub/protocol';

export abstract class DashboardSocketProbe {
  /** Sum of `dropped` of overflow events: the hub shed events on this socket. */
  dropped = 0;
  overflows = 0;
  #ws: WebSocket | undefined;

  protected abstract readonly kinds: readonly DashboardEventKind[];
  protected abstract onEvent(event: DashboardEvent, at: number): void;
  /**
   * A probe that needs no more of a frame than that it came may take it here
   * without parsing it (true: taken). Frames it leaves are parsed as usual.
   */
  protected takeUnparsed(_data: Buffer): boolean {
    return false;
  }

  async connect(httpUrl: string, adminToken: string): Promise<void> {
    // The hub's frames are checked by the hub's tests; here UTF-8 validation would only cost the
    // cores the hub shares with this process.
    const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/ws/dashboard`, [DASHBOARD_SUBPROTOCOL, `bearer.${adminToken}`], { skipUTF8Validation: true, perMessageDeflate: false });
    this.#ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`dashboard socket refused: HTTP ${res.statusCode}`)));
    });
    const subscribed = new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer) => {
        const at = performance.now();
        if (this.takeUnparsed(data)) return;
        const frame = JSON.parse(data.toString()) as DashboardServerFrame;
        if ('event' in frame) {
          if (frame.event === 'overflow') {
            this.overflows++;
            this.dropped += frame.dropped;
          } else this.onEvent(frame, at);
        } else if (frame.id === 1) {
          if (frame.status === 'ok') resolve();
          else reject(new Error(`dashboard subscribe refused: ${frame.error}: ${frame.message}`));
        }
      });
    });
    ws.send(JSON.stringify({ id: 1, op: 'subscribe', devices: '*', events: this.kinds }));
    await subscribed;
  }

  close(): void {
    this.#ws?.close();
  }
}
