/**
 * One device WebSocket for the conns and storm benchmarks [FP-3.2]: the
 * credentials in the upgrade request (`Authorization: Basic`), then, in the
 * `device` handshake, one `hello` frame. Accepted = upgraded, which on the
 * hub means authenticated. The `ws` client answers the server's pings itself.
 */
import WebSocket from 'ws';
import type { Handshake, IdleMqttEvents } from './idle-mqtt.js';

export interface IdleWsOptions {
  url: string;
  id: string;
  token: string;
  handshake: Handshake;
  /** The `hello` frame ([FP-4.1]), sent right after the upgrade in the `device` handshake. */
  hello: string;
  /** Send the hello as a binary frame: same bytes, but a broadcast server that ignores binary frames does not fan it out. */
  helloAsBinary: boolean;
}

export class IdleWsConnection {
  readonly #ws: WebSocket;
  #state: 'connecting' | 'ready' | 'done' = 'connecting';

  constructor(options: IdleWsOptions, events: IdleMqttEvents) {
    const basic = Buffer.from(`${options.id}:${options.token}`).toString('base64');
    this.#ws = new WebSocket(options.url, { headers: { authorization: `Basic ${basic}` }, perMessageDeflate: false });
    const fail = (reason: string): void => {
      if (this.#state !== 'connecting') return;
      this.#state = 'done';
      this.#ws.terminate();
      events.failed(reason);
    };
    this.#ws.on('unexpected-response', (_req, res) => fail(`HTTP ${res.statusCode ?? 0}`));
    this.#ws.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'socket error'));
    this.#ws.on('open', () => {
      events.accepted();
      if (options.handshake === 'device') this.#ws.send(options.helloAsBinary ? Buffer.from(options.hello) : options.hello);
      this.#state = 'ready';
      events.ready();
    });
    this.#ws.on('close', () => {
      if (this.#state === 'ready') {
        this.#state = 'done';
        events.lost();
      } else fail('closed before ready');
    });
  }

  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** Nothing to do: the server pings WebSocket devices, and `ws` answers. */
  ping(): void {}

  /** Drops the socket without a close frame, as a device losing its network does. */
  destroy(): void {
    this.#state = 'done';
    this.#ws.terminate();
  }
}
