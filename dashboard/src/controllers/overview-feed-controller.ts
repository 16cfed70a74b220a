/**
 * The overview's live extras, fed from the same socket as the device store:
 * the fleet's message rate (telemetry events per second) and each device's
 * sparkline of the last five minutes. Rows on screen get one small history
 * fetch each (a few at a time), so a sparkline is full from the start
 * rather than filling over five minutes.
 *
 * The rate is re-read every second and the host re-rendered when it
 * changed: when every device stops, no event comes to trigger a render, and
 * the last figure would stay on screen.
 */
import type { DashboardEvent, DeviceView } from '@iot-hub/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { getHistory, type ApiAuth } from '../data/api.js';
import { RateMeter, SparkBuffers, sparkMetric, SPARK_SLOTS, SPARK_SPAN_MS } from '../data/overview.js';

/** What the feed needs of the app's LiveSession (structurally, so it is tested without a browser). */
export interface FeedSession {
  connection: { on(type: 'event', listener: (event: DashboardEvent) => void): () => void };
  store: { readonly state: { readonly devices: ReadonlyMap<string, DeviceView> } };
  auth: ApiAuth;
}

/** History requests in flight at once. */
const FETCH_CONCURRENCY = 3;
/** How often the shown rate is re-read. */
const RATE_TICK_MS = 1_000;

export class OverviewFeedController implements ReactiveController {
  rate = new RateMeter();
  sparks = new SparkBuffers();

  private session: FeedSession | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Devices whose history was asked for in this session (once each). */
  private readonly fetched = new Set<string>();
  private queue: string[] = [];
  private inFlight = 0;
  private abort = new AbortController();
  private rateTimer: ReturnType<typeof setInterval> | null = null;
  /** The rate as last rendered. */
  private shownRate = 0;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly rateTickMs = RATE_TICK_MS,
  ) {
    host.addController(this);
  }

  /** Messages per second now; what the host renders. */
  currentRate(now = Date.now()): number {
    this.shownRate = this.rate.rate(now);
    return this.shownRate;
  }

  /** Follows the app's live session: a new one starts empty. */
  attach(session: FeedSession | null): void {
    if (session === this.session) return;
    this.detach();
    this.session = session;
    if (!session) return;
    this.unsubscribe = session.connection.on('event', (event: DashboardEvent) => this.onEvent(session, event));
  }

  /**
   * Rows now on screen: fetch the recent history of those not fetched yet.
   * Rows scrolled past before their turn came are dropped from the queue,
   * so fast scrolling through a large fleet does not queue thousands.
   */
  showRows(ids: readonly string[]): void {
    for (const id of this.queue) this.fetched.delete(id);
    this.queue = ids.filter((id) => !this.fetched.has(id));
    for (const id of this.queue) this.fetched.add(id);
    this.pump();
  }

  hostConnected(): void {
    this.rateTimer ??= setInterval(() => {
      if (this.rate.rate(Date.now()) !== this.shownRate) this.host.requestUpdate();
    }, this.rateTickMs);
  }

  hostDisconnected(): void {
    if (this.rateTimer !== null) clearInterval(this.rateTimer);
    this.rateTimer = null;
    this.detach();
  }

  private detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.session = null;
    this.shownRate = 0;
    this.abort.abort();
    this.abort = new AbortController();
    this.fetched.clear();
    this.queue = [];
    this.inFlight = 0;
    this.rate = new RateMeter();
    this.sparks = new SparkBuffers();
  }

  private onEvent(session: FeedSession, event: DashboardEvent): void {
    if (event.event === 'device' && event.action === 'removed') {
      this.sparks.forget(event.deviceId);
      this.fetched.delete(event.deviceId);
      return;
    }
    if (event.event !== 'telemetry') return;
    this.rate.mark(Date.now());
    const device = session.store.state.devices.get(event.deviceId);
    const metric = device ? sparkMetric(device) : null;
    const value = metric === null ? undefined : event.metrics[metric];
    if (metric !== null && typeof value === 'number') this.sparks.add(event.deviceId, metric, event.ts, value);
  }

  private pump(): void {
    const session = this.session;
    while (session && this.inFlight < FETCH_CONCURRENCY && this.queue.length > 0) {
      const id = this.queue.shift() as string;
      const device = session.store.state.devices.get(id);
      const metric = device ? sparkMetric(device) : null;
      if (metric === null) {
        this.fetched.delete(id); // Nothing to draw yet: ask again once it has a numeric reading.
        continue;
      }
      this.inFlight++;
      const now = Date.now();
      const signal = this.abort.signal;
      getHistory(session.auth, id, { from: now - SPARK_SPAN_MS, to: now, maxPoints: SPARK_SLOTS, metrics: [metric] }, signal)
        .then(
          (history) => {
            if (signal.aborted) return;
            this.sparks.addHistory(id, metric, history);
            this.host.requestUpdate();
          },
          () => {
            // A sparkline without history still fills from live readings; not worth an error on the page.
          },
        )
        .finally(() => {
          if (signal.aborted) return;
          this.inFlight--;
          this.pump();
        });
    }
  }
}
