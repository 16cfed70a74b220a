/**
 * Ties a device page's data (DeviceDetail) to the element's lifecycle and
 * to the app's one live socket: it listens to the session's events and
 * snapshots (it opens no socket of its own), reads everything again once
 * the socket's subscription covers this device (events before it were not
 * sent to us), and slides live charts with the clock.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { cancelCommand, getDeviceState, getHistory, listCommands, patchDesiredState, sendCommand } from '../data/api.js';
import { DeviceDetail, type DeviceDetailState } from '../data/device-detail.js';
import { chartPointBudget, DEFAULT_RANGE, type HistoryRange } from '../data/history.js';
import { interestCovers } from '../data/router.js';
import type { LiveSession } from './live-controller.js';

/** How often a live range slides when no sample arrives. */
const TICK_MS = 15_000;

export class DeviceDetailController implements ReactiveController {
  /** The latest published state; null without a session or device. */
  state: DeviceDetailState | null = null;
  /** True once a snapshot of a subscription covering this device arrived: its absence from the store then means it does not exist. */
  covered = false;
  private readonly host: ReactiveControllerHost;
  private session: LiveSession | null = null;
  private deviceId: string | null = null;
  private range: HistoryRange = DEFAULT_RANGE;
  private hostIsConnected = false;
  private current: DeviceDetail | null = null;
  private cleanups: Array<() => void> = [];

  constructor(host: ReactiveControllerHost) {
    this.host = host;
    host.addController(this);
  }

  /** The page's data source, for its actions (send, set desired, ...); null while closed. */
  get detail(): DeviceDetail | null {
    return this.current;
  }

  set(session: LiveSession | null, deviceId: string | null): void {
    if (session === this.session && deviceId === this.deviceId) return;
    this.close();
    this.session = session;
    this.deviceId = deviceId;
    if (this.hostIsConnected) this.open();
  }

  /** Another range: kept for the next device page too. */
  setRange(range: HistoryRange): void {
    this.range = range;
    this.current?.setRange(range, chartPointBudget(window.innerWidth));
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
    const { session, deviceId } = this;
    if (this.current || !session || deviceId === null) return;
    const auth = session.auth;
    const detail = new DeviceDetail({
      deviceId,
      api: {
        getHistory: (query, signal) => getHistory(auth, deviceId, query, signal),
        listCommands: (page, signal) => listCommands(auth, deviceId, page, signal),
        getState: (signal) => getDeviceState(auth, deviceId, signal),
        sendCommand: (name, params) => sendCommand(auth, deviceId, { name, params }),
        cancelCommand: (id) => cancelCommand(auth, id),
        patchDesired: (patch) => patchDesiredState(auth, deviceId, patch),
      },
    });
    this.current = detail;
    this.covered = false;
    this.state = detail.state;
    const timer = setInterval(() => detail.tick(), TICK_MS);
    this.cleanups.push(
      detail.subscribe((state) => {
        this.state = state;
        this.host.requestUpdate();
      }),
      session.connection.on('event', (event) => detail.applyEvent(event)),
      session.connection.on('snapshot', ({ interest }) => {
        if (!interestCovers(interest, deviceId)) return;
        detail.refresh({ history: this.covered });
        this.covered = true;
        this.host.requestUpdate();
      }),
      () => clearInterval(timer),
    );
    detail.start(this.range, chartPointBudget(window.innerWidth));
  }

  private close(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.current?.stop();
    this.current = null;
    this.state = null;
    this.covered = false;
  }
}
