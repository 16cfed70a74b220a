/**
 * Commands from operators to devices, each tracked to its outcome
 * ([G4]): queued → sent → acknowledged → succeeded | failed |
 * timed_out | expired | cancelled.
 *
 * Every change is written to SQLite before it is sent or announced on the
 * EventBus, so what the operator sees and what a device was told survive a
 * restart. Only commands that have not ended are held in memory (with one
 * timer each: expiry while queued, timeout once sent); ended ones are read
 * back from SQLite. Records are replaced, never mutated, so a failed write
 * leaves memory exactly as it was.
 */
import { ProtocolError, type CommandListResponse, type CommandRequest, type CommandState, type CommandView, type ResultMessage } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { DeviceLink } from '../core/device-link.js';
import type { EventBus } from '../events/event-bus.js';
import { checkMessageSize, checkRequest, decodeCursor, encodeCursor, sameRequest } from './command-checks.js';
import { CommandIdGenerator } from './command-id.js';
import { ALL_STATES, PENDING_STATES, commandMessage, delivered, dueAt, newCommand, overdue, resultOutcome } from './command-transitions.js';
import type { Commands, CreateOptions, DeviceLookup, ResultCountKey, ResultDisposition, ResultStatus } from './commands.js';
import { DueTimers } from './due-timers.js';
import { canonicalJson, toView, withState, type CommandRecord } from './command-record.js';
import { SqliteCommandStore } from './sqlite-command-store.js';

export interface CommandServiceOptions {
  /** SQLite file holding commands (shared with the state and audit stores, each with its own tables). */
  file: string;
  registry: DeviceLookup;
  events: EventBus;
  /** The device's connection if it takes commands now (DeviceGateway.readyLink(id, 'commands')). */
  linkOf: (deviceId: string) => DeviceLink | undefined;
  /** Time a device has to answer once a command is sent, unless the request says otherwise. */
  defaultTimeoutMs: number;
  /** How long a command may wait for an offline device, unless the request gives `expiresAt`. */
  defaultExpiryMs: number;
  /** Commands per device that may be queued, sent or acknowledged at once. */
  maxPendingPerDevice: number;
  log: Logger;
}

/** A due command whose end could not be written is tried again this much later. */
const RETRY_MS = 1_000;

interface Change {
  prev: CommandRecord;
  next: CommandRecord;
}

export class CommandService implements Commands {
  private readonly store: SqliteCommandStore;
  private readonly ids = new CommandIdGenerator();
  /** Commands that have not ended, by id: the only ones in memory. */
  private readonly pending = new Map<string, CommandRecord>();
  /** The same per device, in creation order (a Map iterates in insertion order). */
  private readonly byDevice = new Map<string, Map<string, CommandRecord>>();
  /** One per pending command: its expiry while queued, its timeout once sent. */
  private readonly timers = new DueTimers((id) => this.onDue(id));
  private readonly counts = new Map<CommandState, number>();
  /** Device results since start, by disposition and status (for /metrics). */
  readonly resultCounts = new Map<ResultCountKey, number>();

  constructor(readonly options: CommandServiceOptions) {
    this.store = new SqliteCommandStore(options.file, (message) => options.log.warn({ error: message }, 'background WAL checkpoint of the control database failed'));
  }

  /**
   * Loads the commands that had not ended. Overdue ones end now (timed_out
   * or expired); the others get their timers back and wait for their device
   * to connect (deviceReady sends them).
   */
  async open(now = Date.now()): Promise<void> {
    this.store.open();
    // A device deleted just before a crash may have left its commands: they go now, before any read.
    for (const deviceId of this.store.deviceIds()) {
      if (!this.options.registry.get(deviceId)) this.store.deleteDevice(deviceId);
    }
    this.recount();
    const changes: Change[] = [];
    for (const r of this.store.loadPending()) {
      const next = overdue(r, now);
      this.remember(r);
      if (next) changes.push({ prev: r, next });
      else this.arm(r, now);
    }
    this.commit(changes);
    if (changes.length > 0) this.options.log.info({ ended: changes.length }, 'commands overdue at start ended');
    this.options.events.on(this, 'deviceRemoved', (e) => this.deviceRemoved(e.deviceId));
  }

  async close(): Promise<void> {
    this.options.events.removeAllFor(this);
    this.timers.clearAll();
    this.pending.clear();
    this.byDevice.clear();
    await this.store.close();
  }

  /**
   * Checks and stores a new command, then sends it if the device takes
   * commands now. With an idempotency key already used for this device, the
   * existing command is returned (`created: false`) if the request is the
   * same (name and params), else it is a conflict. Nothing is stored or sent
   * for a refused request.
   */
  async create(deviceId: string, request: CommandRequest, opts: CreateOptions, now = Date.now()): Promise<{ command: CommandView; created: boolean }> {
    const { registry, maxPendingPerDevice, log } = this.options;
    const entry = registry.get(deviceId);
    if (!entry) throw new ProtocolError('not_found', `no device ${JSON.stringify(deviceId)}`);
    const params = request.params ?? {};
    if (opts.idempotencyKey !== undefined) {
      const existing = this.store.byIdempotencyKey(deviceId, opts.idempotencyKey);
      if (existing) {
        if (!sameRequest(existing, request.name, params)) {
          throw new ProtocolError('idempotency_conflict', `the key was used for command ${existing.id} (${existing.name} ${canonicalJson(existing.params)}) on this device`);
        }
        return { command: toView(this.pending.get(existing.id) ?? existing), created: false };
      }
    }
    const { expiresAt } = checkRequest(entry.record, request, params, now, this.options.defaultExpiryMs);
    const waiting = this.byDevice.get(deviceId)?.size ?? 0;
    if (waiting >= maxPendingPerDevice) {
      throw new ProtocolError('queue_full', `${waiting} commands of device ${JSON.stringify(deviceId)} have not ended (limit ${maxPendingPerDevice}): wait, or cancel some`);
    }

    const draft = newCommand({
      id: this.ids.next(now),
      deviceId,
      request,
      params,
      expiresAt,
      timeoutMs: request.timeoutMs ?? this.options.defaultTimeoutMs,
      actor: opts.actor,
      idempotencyKey: opts.idempotencyKey,
      now,
    });
    checkMessageSize(entry.record, draft);
    const link = this.options.linkOf(deviceId);
    const queue = this.byDevice.get(deviceId);
    // Earlier queued commands normally went out when the device became ready;
    // any left (a failed write) must go first, keeping creation order.
    const behind = link !== undefined && queue !== undefined && [...queue.values()].some((r) => r.state === 'queued');
    // Sendable at once: queued and sent are written in one go, one commit instead of two.
    const stored = link && !behind ? delivered(draft, now) : draft;
    let record: CommandRecord;
    try {
      record = { ...stored, seq: this.store.insert(stored) };
    } catch (err) {
      log.error({ err, deviceId }, 'storing a command failed');
      throw new ProtocolError('storage_unavailable', 'the command could not be stored');
    }
    this.bump(undefined, 'queued');
    if (record.state !== 'queued') this.bump('queued', record.state);
    this.remember(record);
    this.arm(record, now);
    log.debug({ commandId: record.id, deviceId, name: record.name, state: record.state }, 'command created');
    if (record.state === 'sent') {
      (link as DeviceLink).send(commandMessage(record));
      this.announce([draft, record]);
    } else {
      this.announce([record]);
      if (link) this.deliverSafely(link, [...(this.byDevice.get(deviceId)?.values() ?? [])].filter((r) => r.state === 'queued'), now);
    }
    return { command: toView(this.pending.get(record.id) ?? record), created: true };
  }

  async get(id: string): Promise<CommandView | undefined> {
    const r = this.pending.get(id) ?? this.store.get(id);
    return r && toView(r);
  }

  /** A device's commands, newest first; `before` is the `next` of the previous page. */
  async list(deviceId: string, page: { limit: number; before?: string }): Promise<CommandListResponse> {
    const beforeSeq = page.before === undefined ? undefined : decodeCursor(page.before);
    const rows = this.store.page(deviceId, page.limit + 1, beforeSeq);
    const more = rows.length > page.limit;
    if (more) rows.length = page.limit;
    const last = rows[rows.length - 1];
    return { commands: rows.map(toView), next: more && last ? encodeCursor(last.seq) : null };
  }

  /** Ends a command that has not ended; the device is not told (a later result is kept as late). */
  async cancel(id: string, actor: string, now = Date.now()): Promise<CommandView> {
    const r = this.pending.get(id);
    if (!r) {
      const stored = this.store.get(id);
      if (!stored) throw new ProtocolError('not_found', `no command ${JSON.stringify(id)}`);
      throw new ProtocolError('command_finished', `command ${id} ended ${stored.state}`);
    }
    const next = withState(r, 'cancelled', now, { error: `cancelled by ${actor}` });
    this.commitOrFail([{ prev: r, next }]);
    this.options.log.info({ commandId: id, deviceId: r.deviceId, actor }, 'command cancelled');
    return toView(next);
  }

  /** Every stored command by state: counted once at open(), then kept up to date with each change (no scan per scrape). */
  async countByState(): Promise<Partial<Record<CommandState, number>>> {
    const counts: Partial<Record<CommandState, number>> = {};
    for (const state of ALL_STATES) counts[state] = this.counts.get(state) ?? 0;
    return counts;
  }

  /**
   * A new connection takes commands: everything of the device that has not
   * ended goes out in creation order. Sent and acknowledged ones go again
   * with the same id, since the last connection may have lost them; the
   * device answers a known id with its previous result [FP-4.4].
   */
  deviceReady(deviceId: string, link: DeviceLink): void {
    const queue = this.byDevice.get(deviceId);
    if (!queue || queue.size === 0) return;
    this.deliverSafely(link, [...queue.values()], Date.now());
  }

  /**
   * A device's `result` [FP-4.5]. Resolves once the change is durable (the
   * transport acknowledges the message after that). Results for unknown ids
   * or other devices' commands are ignored, a repeat of the final result
   * too; one for a command the hub ended is kept as late, state unchanged.
   */
  result(deviceId: string, message: ResultMessage, now: number): Promise<void> {
    try {
      this.count(this.applyResult(deviceId, message, now), message.status);
      return Promise.resolve();
    } catch (err) {
      // The device's own fault stays a 4xx: a 5xx would make it resend the same result forever [FP-8].
      if (err instanceof ProtocolError) return Promise.reject(err);
      this.options.log.error({ err, deviceId, commandId: message.id }, 'recording a command result failed');
      return Promise.reject(new ProtocolError('storage_unavailable', 'the result could not be recorded; send it again'));
    }
  }

  private applyResult(deviceId: string, message: ResultMessage, now: number): ResultDisposition {
    // Only pending commands are in memory; an ended one is read back for a late result.
    const r = this.pending.get(message.id) ?? this.store.get(message.id);
    const { disposition, next } = resultOutcome(r, deviceId, message, now);
    if (r && next) this.commit([{ prev: r, next }]);
    return disposition;
  }

  /**
   * A deleted device takes its commands with it (docs/api.md: DELETE removes the
   * device and its history), idempotency keys included, so a device later
   * provisioned under the same id inherits none of them. Pending ones end
   * `cancelled` first, so dashboards and the audit log see how they ended.
   */
  private deviceRemoved(deviceId: string): void {
    const queue = this.byDevice.get(deviceId);
    if (queue) {
      const now = Date.now();
      const changes = [...queue.values()].map((r) => ({ prev: r, next: withState(r, 'cancelled', now, { error: 'device deleted' }) }));
      try {
        this.commit(changes);
      } catch (err) {
        this.options.log.error({ err, deviceId }, 'cancelling the commands of a deleted device failed');
      }
      for (const r of [...queue.values()]) this.forget(r);
    }
    try {
      const deleted = this.store.deleteDevice(deviceId);
      this.recount();
      this.options.log.info({ deviceId, deleted }, 'commands of a deleted device removed');
    } catch (err) {
      // Left rows go at the next start (open() removes commands of unknown devices).
      this.options.log.error({ err, deviceId }, 'removing the commands of a deleted device failed');
    }
  }

  /** Counts by state from the store: at open() and after a deletion, never per change. */
  private recount(): void {
    this.counts.clear();
    for (const [state, n] of Object.entries(this.store.countByState())) this.counts.set(state as CommandState, n);
  }

  /** Writes `sent` (or one more delivery), then sends; a queued command past expiresAt expires instead. */
  private deliverSafely(link: DeviceLink, records: readonly CommandRecord[], now: number): void {
    const changes: Change[] = [];
    for (const r of records) {
      if (!PENDING_STATES.has(r.state)) continue;
      // Its timer may not have fired yet: an overdue command ends instead of going out.
      const next = overdue(r, now) ?? delivered(r, now);
      changes.push({ prev: r, next });
    }
    try {
      this.commit(changes, () => {
        for (const { next } of changes) if (next.state === 'sent' || next.state === 'acknowledged') link.send(commandMessage(next));
      });
    } catch (err) {
      // Not written, so not sent: they stay as they were, for the next connection or their timers.
      this.options.log.error({ err, commands: changes.length }, 'recording command delivery failed');
    }
  }

  /**
   * The one place a change happens: written (one transaction), applied to
   * memory and timers, `beforeAnnounce` (the send), then announced. Throws,
   * changing nothing, if the write fails.
   */
  private commit(changes: readonly Change[], beforeAnnounce?: () => void): void {
    if (changes.length === 0) return;
    this.store.update(changes.map((c) => c.next));
    const now = Date.now();
    for (const { prev, next } of changes) {
      if (prev.state !== next.state) this.bump(prev.state, next.state);
      if (PENDING_STATES.has(next.state)) this.remember(next);
      else this.forget(next);
      if (prev.state !== next.state || prev.sentAt !== next.sentAt) this.arm(next, now);
    }
    beforeAnnounce?.();
    this.announce(changes.map((c) => c.next));
  }

  private commitOrFail(changes: readonly Change[]): void {
    try {
      this.commit(changes);
    } catch (err) {
      this.options.log.error({ err }, 'storing a command change failed');
      throw new ProtocolError('storage_unavailable', 'the change could not be stored');
    }
  }

  private announce(records: readonly CommandRecord[]): void {
    for (const r of records) {
      try {
        this.options.events.emit('command', { command: toView(r) });
      } catch (err) {
        // A listener's fault must not undo or block what is already durable.
        this.options.log.error({ err, commandId: r.id }, 'a command event listener failed');
      }
    }
  }

  private remember(r: CommandRecord): void {
    this.pending.set(r.id, r);
    let queue = this.byDevice.get(r.deviceId);
    if (!queue) this.byDevice.set(r.deviceId, (queue = new Map()));
    // Replacing a key keeps its place: creation order holds.
    queue.set(r.id, r);
  }

  private forget(r: CommandRecord): void {
    this.timers.clear(r.id);
    if (!this.pending.delete(r.id)) return;
    const queue = this.byDevice.get(r.deviceId);
    queue?.delete(r.id);
    if (queue?.size === 0) this.byDevice.delete(r.deviceId);
  }

  private bump(from: CommandState | undefined, to: CommandState): void {
    if (from !== undefined) this.counts.set(from, (this.counts.get(from) ?? 0) - 1);
    this.counts.set(to, (this.counts.get(to) ?? 0) + 1);
  }

  private count(disposition: ResultDisposition, status: ResultStatus): void {
    const key = `${disposition}:${status}` as const;
    this.resultCounts.set(key, (this.resultCounts.get(key) ?? 0) + 1);
  }

  /** A pending command's one timer: its expiry while queued, its timeout (from the first send) once sent. */
  private arm(r: CommandRecord, now: number): void {
    const due = dueAt(r);
    if (due === null) this.timers.clear(r.id);
    else this.timers.set(r.id, due, now);
  }

  private onDue(id: string): void {
    const r = this.pending.get(id);
    if (!r) return;
    const now = Date.now();
    const next = overdue(r, now);
    if (!next) return this.arm(r, now);
    try {
      this.commit([{ prev: r, next }]);
      this.options.log.info({ commandId: id, deviceId: r.deviceId, state: next.state }, 'command ended by the hub');
    } catch (err) {
      this.options.log.error({ err, commandId: id }, 'ending an overdue command failed; trying again');
      this.timers.after(id, RETRY_MS);
    }
  }
}
