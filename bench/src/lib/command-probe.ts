/**
 * One dashboard socket subscribed to the command events of every device:
 * the end of a command round trip is the moment the operator's dashboard
 * learns the outcome. Each event is handed on with its receive time
 * (performance.now(), taken before anything else is done with the frame).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { DASHBOARD_SUBPROTOCOL, type CommandView, type DashboardServerFrame } from '@iot-hub/protocol';

export class CommandProbe {
  /** Command events received (every state change of every command). */
  events = 0;
  /** Sum of `dropped` of overflow events: the hub shed events on this socket. */
  dropped = 0;
  overflows = 0;
  readonly #onCommand: (command: CommandView, at: number) => void;
  #ws: WebSocket | undefined;

  constructor(onCommand: (command: CommandView, at: number) => void) {
    this.#onCommand = onCommand;
  }

  async connect(httpUrl: string, adminToken: string): Promise<void> {
    const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/ws/dashboard`, [DASHBOARD_SUBPROTOCOL, `bearer.${adminToken}`]);
    this.#ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`dashboard socket refused: HTTP ${res.statusCode}`)));
    });
    const subscribed = new Promise<void>((resolve, reject) => {
      ws.on('message', (data) => {
        const at = performance.now();
        const frame = JSON.parse(data.toString()) as DashboardServerFrame;
        if ('event' in frame) {
          if (frame.event === 'command') {
            this.events++;
            this.#onCommand(frame.command, at);
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
    ws.send(JSON.stringify({ id: 1, op: 'subscribe', devices: '*', events: ['command'] }));
    await subscribed;
  }

  close(): void {
    this.#ws?.close();
  }
}
