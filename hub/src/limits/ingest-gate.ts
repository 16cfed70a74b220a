/**
 * Push-back for the whole hub: while its work is behind, the transports stop
 * reading device sockets. The kernel's buffers then fill and the devices
 * block in their writes (or their own queues fill), instead of the hub
 * queueing what it cannot handle; HTTP, dashboards and commands keep their
 * turns. Per connection the transports already read no more while a
 * device's messages are being handled; this gate is the global part.
 *
 * Behind means either:
 * - the event loop has been busy for more than `maxLagMs` without coming
 *   round to its timers (a tick that should run every TICK_MS is late):
 *   reading more now would hold up everything else further. The next tick
 *   opens the gate again, so device input gets about `maxLagMs` of each
 *   turn of the loop and the rest is left for the others;
 * - `maxInFlight` device messages have been read and are not yet handled
 *   (stored or refused): each holds memory until then. Reading resumes
 *   when half of them are done.
 *
 * A transport asks `admit(resume)` before each read; on false it reads
 * nothing and `resume` is called once, when it may read again, in the order
 * the sockets were refused (so every device gets its turn). A socket with
 * little waiting (`light`: a device sending a message now and then, not a
 * flooder with its buffer full) goes before the others, so a quiet device
 * waits one turn of the loop rather than a round of every flooder.
 */
import { performance } from 'node:perf_hooks';

/**
 * After the hub sends a device a command, that device's connection is read
 * without waiting at the gate for this long: its result is what an operator
 * is waiting for, and must not queue behind other devices' telemetry. A
 * device gets this only by being sent a command, and its rate limit and the
 * in-flight count still apply. (Desired state is not included: it goes to
 * every device as it connects, and a reconnect storm must still be pushed
 * back.)
 */
const ANSWER_PRIORITY_MS = 10_000;

/** The answer deadline of a connection sent a command now: read past the gate until then. */
export function answerDeadline(): number {
  return performance.now() + ANSWER_PRIORITY_MS;
}

/** Whether a connection with this answer deadline (0: none) is still read past the gate. */
export function awaitingAnswer(deadline: number): boolean {
  return deadline > 0 && performance.now() < deadline;
}

/** How often the loop is expected to come round to its timers. */
const TICK_MS = 10;

export interface IngestGateOptions {
  /** Event-loop busy time (ms) after which device sockets are not read until it comes round; 0 = no lag check. */
  maxLagMs: number;
  /** Device messages read but not yet handled at most; 0 = no cap. */
  maxInFlight: number;
}

export type PauseReason = 'lag' | 'in_flight';

export class IngestGate {
  private lastTick = performance.now();
  private timer: NodeJS.Timeout | null = null;
  private inFlightNow = 0;
  /** Set at maxInFlight, cleared at half of it. */
  private capped = false;
  /** Resume callbacks of refused sockets, oldest first; light ones apart, resumed first. */
  private waiting = new Set<() => void>();
  private waitingLight = new Set<() => void>();
  private closedAt: number | null = null;
  private closedMsBefore = 0;
  /** For /metrics: times reading stopped, by why; the highest in-flight count seen. */
  readonly counters = { pauses: { lag: 0, in_flight: 0 } as Record<PauseReason, number>, maxInFlightSeen: 0 };

  constructor(private readonly options: IngestGateOptions) {}

  get enabled(): boolean {
    return this.options.maxLagMs > 0 || this.options.maxInFlight > 0;
  }

  get inFlight(): number {
    return this.inFlightNow;
  }

  /** Sockets refused a read and waiting for their turn. */
  get waitingSockets(): number {
    return this.waiting.size + this.waitingLight.size;
  }

  /** Total time during which some device socket was refused a read, in seconds. */
  get pausedSeconds(): number {
    const open = this.closedAt === null ? 0 : performance.now() - this.closedAt;
    return (this.closedMsBefore + open) / 1000;
  }

  start(): void {
    if (this.options.maxLagMs <= 0 || this.timer) return;
    this.lastTick = performance.now();
    this.timer = setInterval(() => {
      this.lastTick = performance.now();
      this.wake();
    }, TICK_MS);
    this.timer.unref();
  }

  /** Stops the tick and lets every waiting socket read again (they are closing). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.capped = false;
    this.release();
  }

  /** Whether admit() would let a socket read now (for a caller that makes its `resume` only when refused). */
  get open(): boolean {
    return this.behind() === null;
  }

  /** May a device socket be read now? If not, `resume` is called once it may. */
  admit(resume: () => void, light = false): boolean {
    const why = this.behind();
    if (why === null) return true;
    if (this.waitingSockets === 0) {
      this.counters.pauses[why] += 1;
      this.closedAt ??= performance.now();
    }
    (light ? this.waitingLight : this.waiting).add(resume);
    return false;
  }

  /** A socket that closed while waiting, or that no longer waits; true if it was waiting. */
  forget(resume: () => void): boolean {
    const was = this.waiting.delete(resume) || this.waitingLight.delete(resume);
    if (was && this.waitingSockets === 0) this.stopPausedClock();
    return was;
  }

  /** A device message was read and is being handled. */
  begin(): void {
    this.inFlightNow += 1;
    if (this.inFlightNow > this.counters.maxInFlightSeen) this.counters.maxInFlightSeen = this.inFlightNow;
    if (this.options.maxInFlight > 0 && this.inFlightNow >= this.options.maxInFlight) this.capped = true;
  }

  /** That message is handled (stored, refused or failed). */
  end(): void {
    this.inFlightNow -= 1;
    if (this.capped && this.inFlightNow <= this.options.maxInFlight / 2) {
      this.capped = false;
      this.wake();
    }
  }

  private behind(): PauseReason | null {
    if (this.capped) return 'in_flight';
    if (this.timer && performance.now() - this.lastTick > this.options.maxLagMs) return 'lag';
    return null;
  }

  /** Resumes waiting sockets, oldest first, for as long as the gate stays open. */
  private wake(): void {
    if (this.waitingSockets === 0 || this.behind() !== null) return;
    this.release();
  }

  /** No socket waits any more: the paused time stops adding up. */
  private stopPausedClock(): void {
    if (this.closedAt === null) return;
    this.closedMsBefore += performance.now() - this.closedAt;
    this.closedAt = null;
  }

  private release(): void {
    const resumes = [...this.waitingLight, ...this.waiting];
    this.waiting = new Set();
    this.waitingLight = new Set();
    this.stopPausedClock();
    // A resumed socket reads at once; once the gate closes again the rest are refused and queue up anew.
    for (const resume of resumes) resume();
  }
}
