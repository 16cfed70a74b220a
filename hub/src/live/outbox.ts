/**
 * Live fan-out to dashboard sockets: each event is serialised and framed
 * once (ws-frame.ts) and the same bytes go to every socket that asked for
 * it; each socket gets one write per event-loop turn holding all its frames
 * of that turn, and sockets that got every frame of the turn share one
 * buffer. At 200 dashboards × 1,000 events/s that is 200 writes per turn
 * instead of 200 `ws.send` calls (a string encoded, a header allocated and
 * two socket writes each) per event.
 *
 * A socket that reads too slowly (more than `softBytes` sent and not yet
 * read) stops getting telemetry and raw messages: for each (device, kind)
 * only the newest frame is kept for it (at most `maxCoalesced` of them),
 * each replaced or refused frame is counted as dropped, and once it has
 * caught up the kept frames go out followed by `{"event": "overflow",
 * "dropped": N}`, which tells the client to resync. Other kinds (presence,
 * device, command, state) are rare and must not be lost: they are always
 * written. Past `hardBytes` the socket is closed. So a slow dashboard costs
 * the hub a bounded map, never an unbounded queue, and never holds anyone
 * else up ([G5]).
 *
 * "Not yet read" cannot be seen in the hub's own send buffer alone: the
 * kernel takes several MB for a socket whose peer stopped reading (its send
 * buffer and the peer's receive buffer: 4 MB in outbox.test.ts, about 50 s
 * of a 1,000-device dashboard) before anything waits in Node. So the writer
 * asks: after every `probeBytes` written it sends a WebSocket ping tagged
 * with a number, and the client's pong (browsers and `ws` answer pings by
 * themselves, once they have read everything before them) proves it has
 * read up to that point. Unread = written - what the last answered ping
 * covered, an upper bound that a reading client keeps near `probeBytes`.
 * One ping is outstanding at a time, so a dead client costs one.
 *
 * The frames are written to the socket under `ws` (its `_socket` field),
 * beside what `ws.send` writes for replies. That is safe because the server
 * has no permessage-deflate (ws then never queues inside its sender, so
 * both write straight into the same stream in call order), and because a
 * socket is written only while `readyState` is OPEN (once closing, ws has
 * sent or will send its close frame and nothing may follow it).
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { DashboardEvent, DashboardEventKind } from '@iot-hub/protocol';
import { encodeTextFrame } from './ws-frame.js';

/** One event's frame, shared by every socket that gets it. */
export interface OutFrame {
  bytes: Buffer;
  /** Set when a lagging socket may get only the newest frame of this (device, kind). */
  coalesce: { key: string; kind: DashboardEventKind; deviceId: string } | null;
}

export interface OutboxLimits {
  /** Above this many bytes sent and not yet read (or waiting in the send buffer) it is behind: frames are coalesced. */
  softBytes: number;
  /** A ping goes out after this many bytes written, to learn how much the client has read. */
  probeBytes: number;
  /** Above this the socket is closed. */
  hardBytes: number;
  /** Most (device, kind) frames kept for one lagging socket; newer keys past it are dropped. */
  maxCoalesced: number;
  /** How often a lagging socket's buffer is checked, to deliver what was kept even if no more events come. */
  drainPollMs: number;
}

export interface OutboxHooks {
  /** Frames a lagging socket will not get (replaced by a newer one, or past the bound). */
  dropped(count: number): void;
  /** The socket passed `hardBytes` and is being closed. */
  tooSlow(buffered: number): void;
}

/** What is waiting for one socket. */
export class Outbox {
  /** This turn's frames, in order. */
  pending: OutFrame[] = [];
  /** The newest frame per (device, kind) while the socket is behind, oldest first. */
  readonly kept = new Map<string, OutFrame>();
  /** Frames this socket did not get since its last overflow notice (or resync). */
  dropped = 0;
  drainTimer: NodeJS.Timeout | null = null;
  /** Bytes the writer put on the socket. */
  written = 0;
  /** `written` when the last answered ping went out: the client has read at least this much. */
  read = 0;
  /** The ping waiting for its pong: its tag, and `written` when it went out. */
  probe: { tag: string; at: number } | null = null;
  private probes = 0;

  /** The next ping's tag, unique on this socket. */
  nextTag(): string {
    this.probes += 1;
    return `o${this.probes}`;
  }

  constructor(readonly ws: WebSocket) {}

  /**
   * After a subscribe answered with a snapshot: telemetry kept for the
   * devices it covers is older than the snapshot, and the client starts
   * afresh, so both go. (Raw messages are not in a snapshot: they stay.)
   */
  resynced(devices: readonly string[] | '*', kinds: readonly DashboardEventKind[]): void {
    this.dropped = 0;
    if (!kinds.includes('telemetry')) return;
    for (const [key, frame] of this.kept) {
      const c = frame.coalesce;
      if (c && c.kind === 'telemetry' && (devices === '*' || devices.includes(c.deviceId))) this.kept.delete(key);
    }
  }
}

export class FanoutWriter {
  private readonly dirty = new Set<Outbox>();
  /** Every frame enqueued this turn, in order: a socket whose batch is as long got all of them. */
  private turn: OutFrame[] = [];
  private shared: Buffer | null = null;
  private immediate: NodeJS.Immediate | null = null;

  constructor(
    private readonly limits: OutboxLimits,
    private readonly hooks: OutboxHooks,
  ) {}

  /** Serialises and frames one event; call once per event, then enqueue it for each socket. */
  frame(event: DashboardEvent, coalesce: { kind: DashboardEventKind; deviceId: string } | null): OutFrame {
    const frame: OutFrame = {
      bytes: encodeTextFrame(JSON.stringify(event)),
      coalesce: coalesce && { key: `${coalesce.kind}\u0000${coalesce.deviceId}`, ...coalesce },
    };
    this.turn.push(frame);
    return frame;
  }

  enqueue(box: Outbox, frame: OutFrame): void {
    box.pending.push(frame);
    this.dirty.add(box);
    this.immediate ??= setImmediate(() => this.flushTurn());
  }

  /** Writes the socket's batch now: before a reply, so replies never overtake earlier events. */
  flush(box: Outbox): void {
    this.write(box, -1);
  }

  /** A pong arrived: if it answers our ping, the client has read everything before that ping. */
  pong(box: Outbox, data: Buffer): void {
    const probe = box.probe;
    if (probe === null || data.toString() !== probe.tag) return;
    box.probe = null;
    box.read = probe.at;
    const lagging = box.kept.size > 0 || box.dropped > 0;
    if (!lagging) return;
    // Catching up: ask again at once rather than after probeBytes more, so the kept frames go out a round trip later.
    if (box.written > box.read) this.sendProbe(box);
    if (!this.behind(box)) this.write(box, -1);
  }

  /** The socket closed: forget what waits for it. */
  closed(box: Outbox): void {
    if (box.drainTimer) clearTimeout(box.drainTimer);
    box.drainTimer = null;
    box.pending = [];
    box.kept.clear();
    this.dirty.delete(box);
  }

  stop(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    for (const box of this.dirty) this.closed(box);
    this.turn = [];
    this.shared = null;
  }

  private flushTurn(): void {
    this.immediate = null;
    const turnLength = this.turn.length;
    for (const box of this.dirty) this.write(box, turnLength);
    this.dirty.clear();
    this.turn = [];
    this.shared = null;
  }

  /** `turnLength`: frames enqueued this turn (-1 outside the end-of-turn flush: no sharing). */
  private write(box: Outbox, turnLength: number): void {
    const pending = box.pending;
    box.pending = [];
    const ws = box.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    const buffered = ws.bufferedAmount;
    if (buffered > this.limits.hardBytes) {
      this.hooks.tooSlow(buffered);
      ws.terminate();
      return;
    }
    const socket = (ws as unknown as { _socket: Socket })._socket;
    if (this.behind(box)) {
      const urgent: Buffer[] = [];
      for (const frame of pending) {
        if (frame.coalesce) this.keep(box, frame);
        else urgent.push(frame.bytes);
      }
      if (urgent.length > 0) this.send(box, socket, urgent.length === 1 ? (urgent[0] as Buffer) : Buffer.concat(urgent));
      this.watchDrain(box);
      return;
    }
    const parts: Buffer[] = [];
    for (const frame of box.kept.values()) parts.push(frame.bytes);
    box.kept.clear();
    if (box.dropped > 0) {
      parts.push(encodeTextFrame(JSON.stringify({ event: 'overflow', dropped: box.dropped } satisfies DashboardEvent)));
      box.dropped = 0;
    }
    if (parts.length === 0 && pending.length > 0 && pending.length === turnLength) {
      this.shared ??= turnLength === 1 ? (pending[0] as OutFrame).bytes : Buffer.concat(pending.map((f) => f.bytes));
      this.send(box, socket, this.shared);
      return;
    }
    for (const frame of pending) parts.push(frame.bytes);
    if (parts.length > 0) this.send(box, socket, parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
  }

  /** Bytes sent and not yet read past the soft bound, by the last answered ping or the send buffer itself. */
  private behind(box: Outbox): boolean {
    return box.written - box.read > this.limits.softBytes || box.ws.bufferedAmount > this.limits.softBytes;
  }

  private send(box: Outbox, socket: Socket, bytes: Buffer): void {
    socket.write(bytes);
    box.written += bytes.length;
    // With no ping outstanding, `read` is where the last one went out.
    if (box.probe === null && box.written - box.read >= this.limits.probeBytes) this.sendProbe(box);
  }

  /** A ping after everything written so far; its pong moves `read` up to here. */
  private sendProbe(box: Outbox): void {
    if (box.ws.readyState !== WebSocket.OPEN) return;
    const tag = box.nextTag();
    box.probe = { tag, at: box.written };
    box.ws.ping(tag);
  }

  /** Newest wins per (device, kind); a key past the bound is dropped. */
  private keep(box: Outbox, frame: OutFrame): void {
    const key = (frame.coalesce as NonNullable<OutFrame['coalesce']>).key;
    if (box.kept.delete(key)) {
      box.dropped += 1;
      this.hooks.dropped(1);
    } else if (box.kept.size >= this.limits.maxCoalesced) {
      box.dropped += 1;
      this.hooks.dropped(1);
      return;
    }
    box.kept.set(key, frame);
  }

  /** Polls until the socket has room again, then sends what was kept and the overflow notice. */
  private watchDrain(box: Outbox): void {
    if (box.drainTimer) return;
    const poll = (): void => {
      box.drainTimer = null;
      const ws = box.ws;
      if (ws.readyState !== WebSocket.OPEN || (box.kept.size === 0 && box.dropped === 0)) return;
      if (this.behind(box)) {
        box.drainTimer = setTimeout(poll, this.limits.drainPollMs);
        return;
      }
      this.write(box, -1);
    };
    box.drainTimer = setTimeout(poll, this.limits.drainPollMs);
  }
}
