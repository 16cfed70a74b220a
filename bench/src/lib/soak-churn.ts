/**
 * Device churn for the soak run: a pool of provisioned devices that come
 * and go at a steady rate, over MQTT and the device WebSocket, with
 * device-sim's own connections (the protocol as firmware speaks it).
 *
 * Each session: connect, hello, one telemetry sample a second (QoS 1 /
 * acked, awaited, so nothing is in flight when the session ends), then
 * leave, alternately cleanly (offline status, DISCONNECT or close frame)
 * and abruptly (the socket destroyed: the hub must notice and publish the
 * will). A connection object serves one session only; the device's seq
 * carries on across sessions as a real device's would [FP-4.2].
 *
 * Anything the hub should not do to a well-behaved device (a refused
 * connect, an unacknowledged send, a dropped link we did not drop) counts
 * as an error, by message.
 */
import type { Capabilities, Transport } from '@iot-hub/protocol';
import { deviceWsUrl, LOAD_CAPABILITIES, MqttDevice, WsDevice, type DeviceCredentials, type FaultableConnection } from '@iot-hub/device-sim';

/** A churn device declares what load devices do: it sends the same payloads. */
export const CHURN_CAPABILITIES: Capabilities = { ...LOAD_CAPABILITIES, kind: 'soak-churn', fw: 'bench-soak' };

export interface ChurnOptions {
  hubUrl: string;
  mqttUrl: string;
  /** The pool; sized so that a device stays away about as long as it stays connected. */
  devices: readonly DeviceCredentials[];
  /** New sessions started per second (each also ends one later). */
  connectsPerSec: number;
  /** How long a session lasts. */
  sessionMs: number;
  /** Share 0..1 of the pool that uses the WebSocket transport (spread evenly). */
  wsShare: number;
  telemetryIntervalMs?: number;
}

export interface ChurnStats {
  /** Sessions whose connect succeeded, by transport. */
  connects: Record<Transport, number>;
  /** Sessions ended by us: cleanly, abruptly. */
  leftClean: number;
  leftAbrupt: number;
  telemetrySent: number;
  telemetryAcked: number;
  /** Session starts skipped because every pool device was busy (the pool is too small for the rate). */
  skipped: number;
  /** Everything that went wrong, total and by message. */
  errors: number;
  problems: Record<string, number>;
}

interface Session {
  connection: FaultableConnection;
  timer: NodeJS.Timeout | undefined;
  /** The telemetry send awaiting its ack, if any. */
  sending: Promise<unknown> | undefined;
  /** Set once we (or the hub) end the session: later failures are not errors. */
  ending: boolean;
  /** Ends the session (idempotent): resolves its promise once the connection is closed. */
  finish(): void;
}

export class Churn {
  readonly stats: ChurnStats = {
    connects: { mqtt: 0, ws: 0 },
    leftClean: 0,
    leftAbrupt: 0,
    telemetrySent: 0,
    telemetryAcked: 0,
    skipped: 0,
    errors: 0,
    problems: {},
  };
  readonly #options: ChurnOptions;
  readonly #idle: DeviceCredentials[];
  readonly #transport = new Map<string, Transport>();
  readonly #seq = new Map<string, number>();
  readonly #sessions = new Set<Session>();
  readonly #running = new Set<Promise<void>>();
  #ticker: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #started = 0;
  #stopping = false;
  #abruptNext = false;

  constructor(options: ChurnOptions) {
    this.#options = options;
    this.#idle = [...options.devices];
    // Exactly round(n × wsShare) WebSocket devices, spread evenly over the pool.
    options.devices.forEach((d, i) => this.#transport.set(d.id, Math.floor((i + 1) * options.wsShare) > Math.floor(i * options.wsShare) ? 'ws' : 'mqtt'));
  }

  /** How many pool devices use each transport. */
  poolSize(transport: Transport): number {
    let n = 0;
    for (const t of this.#transport.values()) if (t === transport) n++;
    return n;
  }

  /** Sessions open right now (connecting, connected or leaving). */
  get active(): number {
    return this.#sessions.size;
  }

  /** Sessions whose link is up right now. */
  get connected(): number {
    let n = 0;
    for (const s of this.#sessions) if (s.connection.connected) n++;
    return n;
  }

  get totalConnects(): number {
    return this.stats.connects.mqtt + this.stats.connects.ws;
  }

  start(): void {
    if (this.#options.connectsPerSec <= 0) return;
    this.#startedAt = Date.now();
    // Sessions start on a 100 ms tick against the cumulative schedule, so a late tick catches up instead of drifting.
    this.#ticker = setInterval(() => this.#tick(), 100);
  }

  /** Stops starting sessions and ends the open ones cleanly; resolves when every connection is closed. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#ticker);
    for (const session of this.#sessions) {
      if (session.ending) continue;
      session.ending = true;
      clearTimeout(session.timer);
      // Let a send in flight get its ack first: acknowledged then equals stored, exactly.
      const sending = session.sending ?? Promise.resolve();
      void sending
        .catch(() => {})
        .then(() => session.connection.close())
        .catch(() => {})
        .finally(session.finish);
    }
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  #tick(): void {
    const due = Math.floor(((Date.now() - this.#startedAt) / 1000) * this.#options.connectsPerSec);
    while (this.#started < due && !this.#stopping) {
      this.#started++;
      const device = this.#idle.shift();
      if (!device) {
        this.stats.skipped++;
        continue;
      }
      const run = this.#session(device).finally(() => {
        this.#running.delete(run);
        if (!this.#stopping) this.#idle.push(device);
      });
      this.#running.add(run);
    }
  }

  #problem(message: string): void {
    this.stats.errors++;
    this.stats.problems[message] = (this.stats.problems[message] ?? 0) + 1;
  }

  #session(device: DeviceCredentials): Promise<void> {
    const transport = this.#transport.get(device.id) ?? 'mqtt';
    const base = { id: device.id, token: device.token, connectTimeoutMs: 10_000, ackTimeoutMs: 10_000 };
    const connection: FaultableConnection =
      transport === 'ws' ? new WsDevice({ ...base, url: deviceWsUrl(this.#options.hubUrl) }) : new MqttDevice({ ...base, url: this.#options.mqttUrl, keepaliveSec: 30 });
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const session: Session = {
      connection,
      timer: undefined,
      sending: undefined,
      ending: false,
      finish: () => {
        clearTimeout(session.timer);
        if (this.#sessions.delete(session)) resolve();
      },
    };
    this.#sessions.add(session);
    const closeAndFinish = (): void => {
      session.ending = true;
      clearTimeout(session.timer);
      // On the next turn: the base class schedules its reconnect right after emitting 'disconnected', and close() must cancel it.
      setImmediate(() => void connection.close().catch(() => {}).finally(session.finish));
    };
    connection.on('disconnected', (reason) => {
      // Ours when leaving abruptly; otherwise the hub dropped a well-behaved device.
      if (!session.ending) this.#problem(`${transport} link lost: ${reason}`);
      closeAndFinish();
    });
    connection.on('fatal', (error) => {
      if (!session.ending) this.#problem(`${transport} fatal: ${error.message}`);
      closeAndFinish();
    });
    connection.on('hubError', (error) => this.#problem(`${transport} hub error: ${error.error}: ${error.message}`));
    void this.#run(session, device, transport);
    return done;
  }

  async #run(session: Session, device: DeviceCredentials, transport: Transport): Promise<void> {
    const { connection } = session;
    try {
      await connection.connect();
      this.stats.connects[transport]++;
      await connection.sendHello(CHURN_CAPABILITIES);
    } catch (err) {
      if (!session.ending) {
        this.#problem(`${transport} connect or hello: ${(err as Error).message}`);
        session.ending = true;
        await connection.close().catch(() => {});
        session.finish();
      }
      return;
    }
    const endsAt = Date.now() + this.#options.sessionMs;
    const interval = this.#options.telemetryIntervalMs ?? 1000;
    const step = async (): Promise<void> => {
      if (session.ending) return;
      if (Date.now() >= endsAt) return this.#leave(session);
      const seq = this.#seq.get(device.id) ?? 0;
      this.#seq.set(device.id, seq + 1);
      this.stats.telemetrySent++;
      try {
        session.sending = connection.sendTelemetry({ metrics: { temperature: 20 + Math.random() * 5, humidity: 40 + Math.random() * 10, t: Date.now() }, seq });
        await session.sending;
        this.stats.telemetryAcked++;
      } catch (err) {
        if (!session.ending) this.#problem(`${transport} telemetry: ${(err as Error).message}`);
      }
      session.sending = undefined;
      if (!session.ending) session.timer = setTimeout(() => void step(), Math.min(interval, Math.max(0, endsAt - Date.now())));
    };
    await step();
  }

  /** Ends a session, alternately cleanly and abruptly; nothing is in flight (every send is awaited). */
  #leave(session: Session): void {
    session.ending = true;
    const abrupt = (this.#abruptNext = !this.#abruptNext);
    if (abrupt && session.connection.connected) {
      this.stats.leftAbrupt++;
      // The 'disconnected' handler closes it (no reconnect) and finishes the session; the timer is a backstop.
      session.connection.drop();
      session.timer = setTimeout(() => void session.connection.close().catch(() => {}).finally(session.finish), 5_000);
    } else {
      this.stats.leftClean++;
      void session.connection.close().catch(() => {}).finally(session.finish);
    }
  }
}
