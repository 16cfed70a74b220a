/**
 * Polls the hub's /healthz while the host is in the document and a token is
 * set, and re-renders the host with each answer (see HealthPoller).
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { getHealth } from '../data/api.js';
import { HealthPoller, type HealthState } from '../data/health-poller.js';

export class HealthController implements ReactiveController {
  state: HealthState = { health: null, error: null, checkedAt: null };
  private readonly host: ReactiveControllerHost;
  private token: string | null = null;
  private hostIsConnected = false;
  private poller: HealthPoller | null = null;

  constructor(host: ReactiveControllerHost) {
    this.host = host;
    host.addController(this);
  }

  setToken(token: string | null): void {
    if (token === this.token) return;
    this.token = token;
    this.close();
    this.state = { health: null, error: null, checkedAt: null };
    if (this.hostIsConnected) this.open();
    this.host.requestUpdate();
  }

  hostConnected(): void {
    this.hostIsConnected = true;
    this.open();
  }

  hostDisconnected(): void {
    this.hostIsConnected = false;
    this.close();
  }

  private open(): void {
    if (this.poller || this.token === null) return;
    const token = this.token;
    this.poller = new HealthPoller({
      fetchHealth: (signal) => getHealth({ token }, signal),
      onChange: (state) => {
        this.state = state;
        this.host.requestUpdate();
      },
    });
    this.poller.start();
  }

  private close(): void {
    this.poller?.stop();
    this.poller = null;
  }
}
