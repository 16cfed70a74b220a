/**
 * The inspector's log: the last N raw messages in and out of one device,
 * newest first, from `message` events of the live socket. A fixed-size ring
 * (bounded memory however chatty the device), read out as a new array only
 * when the view asks, so a burst of messages costs one render.
 */
import type { DeviceMessageEvent } from '@iot-hub/protocol';

export const MESSAGE_LOG_SIZE = 100;

export interface LoggedMessage extends DeviceMessageEvent {
  /** Increasing per log, a stable key for the view. */
  readonly n: number;
}

export type DirectionFilter = 'all' | 'in' | 'out';

export class MessageLog {
  private readonly ring: (LoggedMessage | undefined)[];
  private next = 0;
  private count = 0;
  private total = 0;

  constructor(readonly size = MESSAGE_LOG_SIZE) {
    this.ring = new Array<LoggedMessage | undefined>(size);
  }

  /** Messages received since the log started, including those that fell out of it. */
  get received(): number {
    return this.total;
  }

  add(event: DeviceMessageEvent): void {
    this.ring[this.next] = { ...event, n: this.total };
    this.total += 1;
    this.next = (this.next + 1) % this.size;
    this.count = Math.min(this.count + 1, this.size);
  }

  clear(): void {
    this.ring.fill(undefined);
    this.next = 0;
    this.count = 0;
  }

  /** The kept messages, newest first, optionally of one direction. */
  entries(filter: DirectionFilter = 'all'): LoggedMessage[] {
    const out: LoggedMessage[] = [];
    for (let i = 1; i <= this.count; i++) {
      const entry = this.ring[(this.next - i + this.size) % this.size] as LoggedMessage;
      if (filter === 'all' || entry.direction === filter) out.push(entry);
    }
    return out;
  }
}
