/**
 * Fires commands at a fixed rate, round robin over the devices, and follows
 * each through its round trip:
 *
 *   POST /api/devices/{id}/commands sent
 *     → HTTP 2xx received (accepted)
 *     → the device has the command message (delivered)
 *     → the dashboard socket shows its final state (done)
 *
 * Every time is performance.now() of this process: the responders and the
 * dashboard socket run here, so there is one clock and no skew.
 *
 * Open loop: commands go out on schedule whether or not earlier ones have
 * finished (a slow hub cannot slow the arrivals down and hide its own
 * latency), but a device has at most one command in flight, so the device,
 * its command message and its dashboard event can be matched without the
 * command id, which the hub issues (and may push before the POST returns).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { isFinalCommandState, type CommandMessage, type CommandState, type CommandView, type Transport } from '@iot-hub/protocol';
import { summarise, type LatencySummary } from '@iot-hub/device-sim';

export interface Summary extends LatencySummary {
  p95: number;
}

/** device-sim's exact summary (nearest rank), plus p95. */
export function summary(values: readonly number[]): Summary | null {
  const sorted = Float64Array.from(values);
  const s = summarise(sorted); // sorts in place
  if (!s) return null;
  return { ...s, p95: sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(0.95 * sorted.length) - 1))] as number };
}

/** One command's life as the benchmark saw it. */
export interface Flight {
  deviceId: string;
  transport: Transport;
  /** False for commands sent during the warm-up: run, not counted. */
  measured: boolean;
  sentAt: number;
  httpStatus?: number;
  acceptedAt?: number;
  id?: string;
  deliveredAt?: number;
  doneAt?: number;
  finalState?: CommandState;
  /** The hub's own clock (epoch ms, from the dashboard event): when it created the command, and when it reached its final state. */
  hubCreatedAt?: number;
  hubEndedAt?: number;
  /** Why it did not succeed: HTTP error, network error, no final state in time, or the hub's `error`. */
  error?: string;
}

export type Outcome = 'succeeded' | 'failed' | 'http-error' | 'lost';

export function outcomeOf(f: Flight): Outcome {
  if (f.finalState === 'succeeded' && f.acceptedAt !== undefined) return 'succeeded';
  if (f.finalState !== undefined) return 'failed';
  if (f.acceptedAt === undefined && f.error !== undefined && !f.error.startsWith('no final')) return 'http-error';
  return 'lost';
}

export interface PhaseProgress {
  elapsedMs: number;
  warmingUp: boolean;
  sent: number;
  finished: number;
  inFlight: number;
  /** POST → dashboard of the commands finished in the last second. */
  lastSecond: Summary | null;
}

export interface PhaseRunOptions {
  /** Commands per second, all devices together. */
  rate: number;
  /** Measured window, after the warm-up. */
  durationMs: number;
  /** Commands sent in this first part are run but not counted. */
  warmupMs: number;
  onProgress?: (progress: PhaseProgress) => void;
  /** Called when the warm-up ends and the measured window starts. */
  onMeasuring?: () => void;
}

export interface PhaseRun {
  /** Every measured command, in the order they finished. */
  flights: Flight[];
  /** performance.now() when the measured window started. */
  measureFrom: number;
  /** Wall time of the measured window, ms. */
  windowMs: number;
  /** Times the timer woke more than 50 ms late: the schedule was restarted rather than sending a burst. */
  scheduleSlips: number;
  /** Ticks that found every device with a command in flight (nothing sent). */
  allDevicesBusy: number;
  /** ms after the window until the last command finished (or timed out). */
  drainMs: number;
}

export interface CommandDriverOptions {
  httpUrl: string;
  adminToken: string;
  deviceIds: readonly string[];
  transportOf: (deviceId: string) => Transport | undefined;
  command: string;
  /** A command with no final state on the dashboard this long after its POST is counted as lost. */
  timeoutMs: number;
}

export class CommandDriver {
  /** Command messages or events that matched no command in flight (for example a redelivery). */
  strays = { device: 0, dashboard: 0 };
  readonly #options: CommandDriverOptions;
  readonly #url: URL;
  readonly #body: string;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  readonly #byDevice = new Map<string, Flight>();
  readonly #byId = new Map<string, Flight>();
  #finished: Flight[] = [];
  #cursor = 0;

  constructor(options: CommandDriverOptions) {
    this.#options = options;
    this.#url = new URL(options.httpUrl);
    this.#body = JSON.stringify({ name: options.command, params: {} });
  }

  /** From the responders: the device got a command message. */
  deviceReceived(deviceId: string, command: CommandMessage, at: number): void {
    const flight = this.#byDevice.get(deviceId);
    if (!flight || (flight.id !== undefined && flight.id !== command.id) || flight.deliveredAt !== undefined) {
      this.strays.device++;
      return;
    }
    flight.deliveredAt = at;
    this.#learnId(flight, command.id);
  }

  /** From the dashboard socket: a command changed state. Only final states end a flight. */
  dashboardEvent(command: CommandView, at: number): void {
    if (!isFinalCommandState(command.state)) return;
    let flight = this.#byId.get(command.id);
    if (!flight) {
      const candidate = this.#byDevice.get(command.deviceId);
      if (candidate && candidate.id === undefined) flight = candidate;
    }
    if (!flight || flight.doneAt !== undefined) {
      this.strays.dashboard++;
      return;
    }
    this.#learnId(flight, command.id);
    flight.doneAt = at;
    flight.finalState = command.state;
    if (typeof command.createdAt === 'number') flight.hubCreatedAt = command.createdAt;
    if (typeof command.updatedAt === 'number') flight.hubEndedAt = command.updatedAt;
    if (command.state !== 'succeeded') flight.error = `${command.state}${command.error ? `: ${command.error}` : ''}`;
    this.#finishIfComplete(flight);
  }

  get inFlight(): number {
    return this.#byDevice.size;
  }

  async runPhase(options: PhaseRunOptions): Promise<PhaseRun> {
    this.#finished = [];
    const intervalMs = 1000 / options.rate;
    const start = performance.now();
    const measureFrom = start + options.warmupMs;
    const end = measureFrom + options.durationMs;
    let next = start;
    let sent = 0;
    let scheduleSlips = 0;
    let allDevicesBusy = 0;
    let measuring = options.warmupMs === 0;
    if (measuring) options.onMeasuring?.();

    let lastProgress = { at: start, finished: 0 };
    const progressTimer = setInterval(() => {
      const now = performance.now();
      const recent = this.#finished.slice(lastProgress.finished).filter((f) => f.doneAt !== undefined && f.finalState === 'succeeded');
      options.onProgress?.({
        elapsedMs: now - start,
        warmingUp: now < measureFrom,
        sent,
        finished: this.#finished.length,
        inFlight: this.#byDevice.size,
        lastSecond: summary(recent.map((f) => (f.doneAt as number) - f.sentAt)),
      });
      lastProgress = { at: now, finished: this.#finished.length };
    }, 1000);
    const sweepTimer = setInterval(() => this.#sweep(performance.now()), 250);

    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        if (!measuring && now >= measureFrom) {
          measuring = true;
          options.onMeasuring?.();
        }
        if (now >= end) {
          resolve();
          return;
        }
        if (now - next > 50) {
          // This process was held up: start the schedule again from now rather than fire a burst that would time the backlog.
          scheduleSlips++;
          next = now;
        }
        while (next <= now && next < end) {
          if (this.#fire(next >= measureFrom)) sent++;
          else allDevicesBusy++;
          next += intervalMs;
        }
        setTimeout(tick, Math.max(0, Math.min(next, end) - performance.now()));
      };
      tick();
    });
    const windowEnd = performance.now();

    // Drain: every command in flight ends (a final state) or times out.
    while (this.#byDevice.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      this.#sweep(performance.now());
    }
    const drainMs = performance.now() - windowEnd;
    clearInterval(progressTimer);
    clearInterval(sweepTimer);
    return {
      flights: this.#finished.filter((f) => f.measured),
      measureFrom,
      windowMs: windowEnd - measureFrom,
      scheduleSlips,
      allDevicesBusy,
      drainMs,
    };
  }

  close(): void {
    this.#agent.destroy();
  }

  /** Sends the next command to the next device with none in flight; false when every device is busy. */
  #fire(measured: boolean): boolean {
    const ids = this.#options.deviceIds;
    for (let tried = 0; tried < ids.length; tried++) {
      const deviceId = ids[this.#cursor] as string;
      this.#cursor = (this.#cursor + 1) % ids.length;
      if (this.#byDevice.has(deviceId)) continue;
      const flight: Flight = { deviceId, transport: this.#options.transportOf(deviceId) ?? 'mqtt', measured, sentAt: performance.now() };
      this.#byDevice.set(deviceId, flight);
      this.#post(flight);
      return true;
    }
    return false;
  }

  #post(flight: Flight): void {
    const req = http.request(
      {
        host: this.#url.hostname,
        port: this.#url.port,
        method: 'POST',
        path: `/api/devices/${encodeURIComponent(flight.deviceId)}/commands`,
        agent: this.#agent,
        headers: {
          authorization: `Bearer ${this.#options.adminToken}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(this.#body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const at = performance.now();
          const status = res.statusCode ?? 0;
          flight.httpStatus = status;
          const text = Buffer.concat(chunks).toString('utf8');
          let body: { id?: unknown; error?: unknown; message?: unknown } = {};
          try {
            body = JSON.parse(text) as typeof body;
          } catch {
            // not JSON: reported with the status below
          }
          if (status >= 200 && status < 300 && typeof body.id === 'string') {
            flight.acceptedAt = at;
            this.#learnId(flight, body.id);
            this.#finishIfComplete(flight);
          } else {
            flight.error = `HTTP ${status}${typeof body.error === 'string' ? ` ${body.error}: ${String(body.message)}` : ` ${text.slice(0, 120)}`}`;
            this.#finish(flight);
          }
        });
      },
    );
    req.setNoDelay(true);
    req.on('error', (err) => {
      if (flight.acceptedAt !== undefined || flight.error !== undefined) return;
      flight.error = `POST: ${err.message}`;
      this.#finish(flight);
    });
    req.end(this.#body);
  }

  #learnId(flight: Flight, id: string): void {
    if (flight.id === undefined) {
      flight.id = id;
      this.#byId.set(id, flight);
    }
  }

  #finishIfComplete(flight: Flight): void {
    if (flight.acceptedAt !== undefined && flight.doneAt !== undefined) this.#finish(flight);
  }

  #finish(flight: Flight): void {
    if (this.#byDevice.get(flight.deviceId) !== flight) return;
    this.#byDevice.delete(flight.deviceId);
    if (flight.id !== undefined) this.#byId.delete(flight.id);
    this.#finished.push(flight);
  }

  #sweep(now: number): void {
    for (const flight of this.#byDevice.values()) {
      if (now - flight.sentAt < this.#options.timeoutMs) continue;
      flight.error ??= `no final state on the dashboard within ${this.#options.timeoutMs} ms`;
      this.#finish(flight);
    }
  }
}
