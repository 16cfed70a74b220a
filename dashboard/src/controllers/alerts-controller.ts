/**
 * The open alerts for the whole page (header badge, Alerts page, device rows
 * and page) and the toasts. Fed by GET /api/alerts whenever the live socket
 * (re)subscribes (a snapshot: after a reconnect or an overflow nothing is
 * missed) and by the socket's `alert` events in between. The device page
 * subscribes to its one device only, so while it is shown the list is also
 * re-read every POLL_MS: the badge stays right for the rest of the fleet.
 */
import type { DashboardEvent } from '@iot-hub/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { listAlerts, type ApiAuth } from '../data/api.js';
import { AlertStore } from '../data/alert-store.js';
import type { LiveSnapshot } from '../data/live-connection.js';
import { ToastStack } from '../data/toast-stack.js';

/** What the controller needs of the app's LiveSession. */
export interface AlertsSession {
  connection: {
    on(type: 'event', listener: (event: DashboardEvent) => void): () => void;
    on(type: 'snapshot', listener: (snapshot: LiveSnapshot) => void): () => void;
  };
  auth: ApiAuth;
}

export const POLL_MS = 15_000;

export class AlertsController implements ReactiveController {
  store = new AlertStore();
  toasts = new ToastStack();
  /** Why the list could not be read, or null. */
  error: string | null = null;

  private session: AlertsSession | null = null;
  private readonly unsubscribes: Array<() => void> = [];
  private abort = new AbortController();
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private polling = false;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  /** Follows the app's live session: a new one starts empty. */
  attach(session: AlertsSession | null): void {
    if (session === this.session) return;
    this.detach();
    this.session = session;
    this.store = new AlertStore();
    this.toasts = new ToastStack();
    if (!session) return;
    this.unsubscribes.push(
      session.connection.on('snapshot', () => void this.refresh()),
      session.connection.on('event', (event) => {
        if (event.event !== 'alert') return;
        if (this.store.applyEvent(event.alert, Date.now())) this.toasts.push(event.alert, Date.now());
        this.host.requestUpdate();
      }),
    );
  }

  /** Whether the socket's events cover only part of the fleet (re-read the list now and then). */
  setPolling(on: boolean): void {
    this.polling = on;
    if (!on && this.pollTimer !== null) {
      clearInterval(this.pollTimer);
      this.pollTimer = null;
    } else if (on && this.pollTimer === null) {
      this.pollTimer = setInterval(() => void this.refresh(), POLL_MS);
    }
  }

  dismissToast(alertId: string): void {
    this.toasts.dismiss(alertId);
    this.host.requestUpdate();
  }

  /** Re-reads the open alerts (after an acknowledgement, too, so the page shows it even before the event). */
  async refresh(): Promise<void> {
    const session = this.session;
    if (!session) return;
    const signal = this.abort.signal;
    try {
      const { alerts } = await listAlerts(session.auth, {}, signal);
      if (session !== this.session) return;
      this.store.applySnapshot(alerts);
      this.error = null;
    } catch (error) {
      if (signal.aborted || session !== this.session) return;
      this.error = (error as Error).message;
    }
    this.host.requestUpdate();
  }

  hostConnected(): void {
    this.setPolling(this.polling);
  }

  hostDisconnected(): void {
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.detach();
  }

  private detach(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    this.abort.abort();
    this.abort = new AbortController();
    this.session = null;
  }
}
