/**
 * Commands on PostgreSQL, for N hub nodes sharing one database: the same
 * behaviour as CommandService towards the API, the gateway and the
 * EventBus, whichever node the operator's call lands on and whichever node
 * holds the device (docs/design.md: cluster mode, row "commands").
 *
 * - The database is the only copy: no pending map in memory, so every node
 *   sees every command as it is.
 * - create is one transaction under a per-device lock: the idempotency key
 *   (UNIQUE, ON CONFLICT) and the pending cap hold across racing nodes.
 * - Every change is a compare-and-set on the row's version; only the node
 *   whose UPDATE returned the row announces it ('command' event, and
 *   `inTransaction`, e.g. the audit, in the same transaction), so each
 *   transition is announced once in the cluster and every command ends once.
 * - Delivery: the node holding the device sends (`linkOf`). Another node
 *   commits `queued` and calls `notifyOwner` (at most once, a bus message);
 *   each node's reconciler delivers queued commands of the devices it holds
 *   every few seconds, so a lost notification only delays.
 * - Timeouts and expiry: one sweeper at a time (advisory lock) ends what is
 *   overdue; nodes keep local timers for what they sent, for precision. The
 *   compare-and-set makes the end happen once, whoever gets there first.
 * - PostgreSQL unreachable: create, cancel and reads reject with
 *   `storage_unavailable` (503), result() rejects so the device resends.
 */
import { ProtocolError, type CommandListResponse, type CommandRequest, type CommandState, type CommandView, type ResultMessage } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { DeviceLink } from '../../core/device-link.js';
import type { EventBus } from '../../events/event-bus.js';
import { checkMessageSize, checkRequest, decodeCursor, encodeCursor, sameRequest } from '../../commands/command-checks.js';
import { CommandIdGenerator } from '../../commands/command-id.js';
import { canonicalJson, toView, withState, type CommandRecord } from '../../commands/command-record.js';
import { ALL_STATES, commandMessage, delivered, dueAt, isPending, newCommand, overdue, resultOutcome } from '../../commands/command-transitions.js';
import type { Commands, CreateOptions, DeviceLookup, ResultCountKey, ResultDisposition, ResultStatus } from '../../commands/commands.js';
import { DueTimers } from '../../commands/due-timers.js';
import type { PgDatabase } from '../pg/pg-database.js';
import * as store from './pg-command-store.js';
import type { Change, Sql } from './pg-command-store.js';

export interface PgCommandServiceOptions {
  db: PgDatabase;
  registry: DeviceLookup;
  events: EventBus;
  /** The device's connection on this node if it takes commands now (DeviceGateway.readyLink(id, 'commands')). */
  linkOf: (deviceId: string) => DeviceLink | undefined;
  /**
   * Tells the node holding the device that it has queued commands (that
   * node then calls deliverQueued). At most once is enough: the reconciler
   * catches a lost one.
   */
  notifyOwner?: (deviceId: string) => void;
  /** Time a device has to answer once a command is sent, unless the request says otherwise. */
  defaultTimeoutMs: number;
  /** How long a command may wait for an offline device, unless the request gives `expiresAt`. */
  defaultExpiryMs: number;
  /** Commands per device that may be queued, sent or acknowledged at once, cluster-wide. */
  maxPendingPerDevice: number;
  /** How often the sweeper runs (on whichever node holds its lock); default 1 s. */
  sweepIntervalMs?: number;
  /** How often this node delivers queued commands of the devices it holds; default 2 s. */
  reconcileIntervalMs?: number;
  /**
   * Called inside the transaction of every create and change this node
   * made, before commit: what must be written once with it (the audit).
   */
  inTransaction?: (tx: Sql, changed: readonly CommandRecord[]) => Promise<void>;
  log: Logger;
}

/** The advisory lock of the sweeper (unique among the hub's single-key locks: 0x107_0a.. accounts, 0x107_0c.. commands). */
export const COMMAND_SWEEP_LOCK = 0x10_7_0c01;
/**
 * The sweeper is the backstop: each node's local timers end the commands it
 * created or sent on time; the sweep ends those of a node that died. Every
 * 5 s, not every second: each pass is a PostgreSQL transaction on every node,
 * and the cluster benchmark counts commits per stored message.
 */
const DEFAULT_SWEEP_MS = 5_000;
const DEFAULT_RECONCILE_MS = 2_000;
/** Overdue commands ended per statement, and statements per sweep: a backlog ends over a few sweeps. */
const SWEEP_BATCH = 500;
const SWEEP_BATCHES = 20;
/** Devices with queued commands read per reconciler query. */
const RECONCILE_PAGE = 500;
/** Local timers held at most; past it the sweeper alone ends commands (a little later). */
const MAX_LOCAL_TIMERS = 100_000;
/** A due command whose end could not be written is tried again this much later. */
const RETRY_MS = 1_000;
/** Re-reads after losing a compare-and-set: others changed the row this often in a row only under a storm. */
const MAX_CAS_ATTEMPTS = 5;

export class PgCommandService implements Commands {
  private readonly ids = new CommandIdGenerator();
  /** Local precision for what this node created or sent; the sweeper is the guarantee. */
  private readonly timers = new DueTimers((id) => this.onDue(id));
  /** Deliveries to one device run one after another on this node, so its commands go out in creation order. */
  private readonly deliveryChains = new Map<string, Promise<void>>();
  /** Background work (deliveries, timer ends, loops) that close() waits for. */
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly loopTimers = new Set<NodeJS.Timeout>();
  private closed = true;
  readonly resultCounts = new Map<ResultCountKey, number>();

  constructor(readonly options: PgCommandServiceOptions) {}

  /** Ends what became overdue while no node ran, then starts the sweeper and the reconciler. */
  async open(): Promise<void> {
    this.closed = false;
    this.options.events.on(this, 'deviceRemoved', (e) => void this.track(this.removeDevice(e.deviceId)));
    await this.sweep();
    this.repeat(this.options.sweepIntervalMs ?? DEFAULT_SWEEP_MS, 'ending overdue commands', () => this.sweep());
    this.repeat(this.options.reconcileIntervalMs ?? DEFAULT_RECONCILE_MS, 'delivering queued commands', () => this.reconcile());
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.loopTimers) clearTimeout(timer);
    this.loopTimers.clear();
    this.options.events.removeAllFor(this);
    this.timers.clearAll();
    await Promise.allSettled([...this.inflight]);
    this.timers.clearAll();
  }

  async create(deviceId: string, request: CommandRequest, opts: CreateOptions, now = Date.now()): Promise<{ command: CommandView; created: boolean }> {
    const { registry, maxPendingPerDevice, db, log } = this.options;
    const entry = registry.get(deviceId);
    if (!entry) throw new ProtocolError('not_found', `no device ${JSON.stringify(deviceId)}`);
    const params = request.params ?? {};
    const link = this.options.linkOf(deviceId);
    const made = await this.guard('storing a command failed', 'the command could not be stored', () =>
      db.transaction(async (tx): Promise<{ existing: CommandRecord } | { draft: CommandRecord; record: CommandRecord }> => {
        // Racing creates for one device, on any node, take turns from here to commit.
        await store.lockDevice(tx, deviceId);
        if (opts.idempotencyKey !== undefined) {
          const existing = await store.byIdempotencyKey(tx, deviceId, opts.idempotencyKey);
          if (existing) return { existing: existing.record };
        }
        const { expiresAt } = checkRequest(entry.record, request, params, now, this.options.defaultExpiryMs);
        const counts = await store.pendingCounts(tx, deviceId);
        if (counts.pending >= maxPendingPerDevice) {
          throw new ProtocolError('queue_full', `${counts.pending} commands of device ${JSON.stringify(deviceId)} have not ended (limit ${maxPendingPerDevice}): wait, or cancel some`);
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
        // Held here and nothing queued before it: queued and sent in one commit. Else it waits its turn.
        const stored = await store.insert(tx, link && counts.queued === 0 ? delivered(draft, now) : draft);
        if (!stored) {
          // The key was taken by a writer outside the device lock: its command is the answer.
          const existing = await store.byIdempotencyKey(tx, deviceId, opts.idempotencyKey ?? '');
          if (!existing) throw new Error(`command insert for device ${deviceId} conflicted but no command holds its key`);
          return { existing: existing.record };
        }
        await this.options.inTransaction?.(tx, [stored.record]);
        return { draft, record: stored.record };
      }),
    );
    if ('existing' in made) {
      const { existing } = made;
      if (!sameRequest(existing, request.name, params)) {
        throw new ProtocolError('idempotency_conflict', `the key was used for command ${existing.id} (${existing.name} ${canonicalJson(existing.params)}) on this device`);
      }
      return { command: toView(existing), created: false };
    }
    const { draft, record } = made;
    log.debug({ commandId: record.id, deviceId, name: record.name, state: record.state }, 'command created');
    this.arm(record);
    if (record.state === 'sent') {
      (link as DeviceLink).send(commandMessage(record));
      this.announce([draft, record]);
      return { command: toView(record), created: true };
    }
    this.announce([record]);
    if (!link) {
      this.options.notifyOwner?.(deviceId);
      return { command: toView(record), created: true };
    }
    // Earlier queued ones are still waiting (their delivery failed): they go first, then this one.
    const sent = await this.serial(deviceId, () => this.deliver(deviceId, link, true)).catch((err: unknown) => {
      log.error({ err, deviceId }, 'recording command delivery failed');
      return [];
    });
    return { command: toView(sent.find((r) => r.id === record.id) ?? record), created: true };
  }

  async get(id: string): Promise<CommandView | undefined> {
    const stored = await this.guard('reading a command failed', 'the command could not be read', () => store.byId(this.options.db, id));
    return stored && toView(stored.record);
  }

  async list(deviceId: string, page: { limit: number; before?: string }): Promise<CommandListResponse> {
    const beforeSeq = page.before === undefined ? undefined : decodeCursor(page.before);
    const rows = await this.guard('listing commands failed', 'the commands could not be read', () => store.page(this.options.db, deviceId, page.limit + 1, beforeSeq));
    const more = rows.length > page.limit;
    if (more) rows.length = page.limit;
    const last = rows[rows.length - 1];
    return { commands: rows.map(toView), next: more && last ? encodeCursor(last.seq) : null };
  }

  async cancel(id: string, actor: string, now = Date.now()): Promise<CommandView> {
    return this.guard('storing a command change failed', 'the change could not be stored', async () => {
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt += 1) {
        const current = await store.byId(this.options.db, id);
        if (!current) throw new ProtocolError('not_found', `no command ${JSON.stringify(id)}`);
        if (!isPending(current.record)) throw new ProtocolError('command_finished', `command ${id} ended ${current.record.state}`);
        const [won] = await this.write([{ prev: current, next: withState(current.record, 'cancelled', now, { error: `cancelled by ${actor}` }) }]);
        if (won) {
          this.options.log.info({ commandId: id, deviceId: won.deviceId, actor }, 'command cancelled');
          return toView(won);
        }
        // Changed on another node meanwhile: read it again; it may have ended.
      }
      throw new Error(`command ${id} kept changing while being cancelled`);
    });
  }

  /** Cluster-wide, counted by the server at each call (/metrics scrapes). */
  async countByState(): Promise<Partial<Record<CommandState, number>>> {
    const stored = await this.guard('counting commands failed', 'the commands could not be counted', () => store.countByState(this.options.db));
    const counts: Partial<Record<CommandState, number>> = {};
    for (const state of ALL_STATES) counts[state] = stored[state] ?? 0;
    return counts;
  }

  /**
   * A new connection on this node takes commands: everything of the device
   * that has not ended goes out in creation order, sent ones again with the
   * same id [FP-4.4].
   */
  deviceReady(deviceId: string, link: DeviceLink): void {
    void this.track(
      this.serial(deviceId, () => this.deliver(deviceId, link, false)).catch((err: unknown) => {
        // Not written, so not sent: they wait for the next connection, the reconciler or the sweeper.
        this.options.log.error({ err, deviceId }, 'recording command delivery failed');
      }),
    );
  }

  /**
   * Sends the device's queued commands if it is held here (called on this
   * node for another node's notifyOwner, and by the reconciler). Never
   * rejects: what fails stays queued for the next round.
   */
  async deliverQueued(deviceId: string): Promise<void> {
    const link = this.options.linkOf(deviceId);
    if (!link || this.closed) return;
    await this.track(
      this.serial(deviceId, () => this.deliver(deviceId, link, true)).catch((err: unknown) => {
        this.options.log.error({ err, deviceId }, 'recording command delivery failed');
      }),
    );
  }

  /** A device's `result` [FP-4.5]; resolves once the change is committed (the transport acknowledges after that). */
  async result(deviceId: string, message: ResultMessage, now: number): Promise<void> {
    try {
      this.count(await this.applyResult(deviceId, message, now), message.status);
    } catch (err) {
      // The device's own fault stays a 4xx: a 5xx would make it resend the same result forever [FP-8].
      if (err instanceof ProtocolError) throw err;
      this.options.log.error({ err, deviceId, commandId: message.id }, 'recording a command result failed');
      throw new ProtocolError('storage_unavailable', 'the result could not be recorded; send it again');
    }
  }

  /**
   * Ends every overdue command, if no other node is sweeping now; returns
   * how many this call ended. Any node may call it at any time.
   */
  async sweep(): Promise<number> {
    const { db } = this.options;
    const ended = await db.withAdvisoryLock(COMMAND_SWEEP_LOCK, false, async () => {
      let total = 0;
      for (let batch = 0; batch < SWEEP_BATCHES; batch += 1) {
        const now = Date.now();
        const rows = await store.overdueRows(db, now, SWEEP_BATCH);
        const changes: Change[] = [];
        for (const prev of rows) {
          const next = overdue(prev.record, now);
          if (next) changes.push({ prev, next });
        }
        const won = await this.write(changes);
        total += won.length;
        for (const r of won) this.options.log.info({ commandId: r.id, deviceId: r.deviceId, state: r.state }, 'command ended by the hub');
        if (rows.length < SWEEP_BATCH) break;
      }
      return total;
    });
    return ended ?? 0;
  }

  /** Delivers queued commands of every device held here: a lost notifyOwner only delays. */
  async reconcile(): Promise<void> {
    let after = '';
    for (;;) {
      const ids = await store.devicesWithQueued(this.options.db, after, RECONCILE_PAGE);
      for (const id of ids) if (this.options.linkOf(id)) await this.deliverQueued(id);
      const last = ids[ids.length - 1];
      if (last === undefined || ids.length < RECONCILE_PAGE || this.closed) return;
      after = last;
    }
  }

  private async applyResult(deviceId: string, message: ResultMessage, now: number): Promise<ResultDisposition> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt += 1) {
      const current = await store.byId(this.options.db, message.id);
      const { disposition, next } = resultOutcome(current?.record, deviceId, message, now);
      if (!current || !next) return disposition;
      const [won] = await this.write([{ prev: current, next }]);
      if (won) return disposition;
      // Another node changed it first (the same result on two connections, a timeout): decide again on what it is now.
    }
    throw new Error(`command ${message.id} kept changing while its result was recorded`);
  }

  /**
   * Writes `queued → sent` (or one more delivery) for the device's pending
   * commands, then sends what this node won, in creation order. A command
   * lost to another writer changed meanwhile (answered, ended, sent by
   * another node): it is not sent again from here.
   */
  private async deliver(deviceId: string, link: DeviceLink, onlyQueued: boolean): Promise<CommandRecord[]> {
    const rows = await store.pendingOf(this.options.db, deviceId, onlyQueued);
    const now = Date.now();
    // Its timer may not have fired yet: an overdue command ends instead of going out.
    const changes = rows.map((prev) => ({ prev, next: overdue(prev.record, now) ?? delivered(prev.record, now) }));
    return this.write(changes, (won) => {
      for (const r of won) if (r.state === 'sent' || r.state === 'acknowledged') link.send(commandMessage(r));
    });
  }

  /**
   * The one place a change happens: compare-and-set (with `inTransaction`
   * in the same transaction), local timers, `beforeAnnounce` (the send),
   * then one event per change this node won. Throws, announcing nothing,
   * if the write fails.
   */
  private async write(changes: readonly Change[], beforeAnnounce?: (won: readonly CommandRecord[]) => void): Promise<CommandRecord[]> {
    if (changes.length === 0) return [];
    const { db, inTransaction } = this.options;
    const won = inTransaction
      ? await db.transaction(async (tx) => {
          const rows = await store.compareAndSet(tx, changes);
          if (rows.length > 0) await inTransaction(tx, rows.map((s) => s.record));
          return rows;
        })
      : await store.compareAndSet(db, changes);
    const records = won.map((s) => s.record);
    for (const r of records) this.arm(r);
    beforeAnnounce?.(records);
    this.announce(records);
    return records;
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

  private async removeDevice(deviceId: string): Promise<void> {
    const { db, log } = this.options;
    try {
      // Pending ones end `cancelled` first, so dashboards and the audit log see how they ended (each once, by CAS).
      const now = Date.now();
      const rows = await store.pendingOf(db, deviceId, false);
      await this.write(rows.map((prev) => ({ prev, next: withState(prev.record, 'cancelled', now, { error: 'device deleted' }) })));
    } catch (err) {
      log.error({ err, deviceId }, 'cancelling the commands of a deleted device failed');
    }
    try {
      const deleted = await store.deleteDevice(db, deviceId);
      log.info({ deviceId, deleted }, 'commands of a deleted device removed');
    } catch (err) {
      log.error({ err, deviceId }, 'removing the commands of a deleted device failed');
    }
  }

  private onDue(id: string): void {
    void this.track(
      this.endIfOverdue(id).catch((err: unknown) => {
        this.options.log.error({ err, commandId: id }, 'ending an overdue command failed; trying again');
        if (!this.closed) this.timers.after(id, RETRY_MS);
      }),
    );
  }

  private async endIfOverdue(id: string): Promise<void> {
    const current = await store.byId(this.options.db, id);
    if (!current) return;
    const next = overdue(current.record, Date.now());
    if (!next) return this.arm(current.record);
    const [won] = await this.write([{ prev: current, next }]);
    if (won) this.options.log.info({ commandId: id, deviceId: won.deviceId, state: won.state }, 'command ended by the hub');
  }

  /** A pending command's local timer (bounded: past the cap, the sweeper alone ends it). */
  private arm(r: CommandRecord): void {
    const due = dueAt(r);
    if (due === null || this.closed) this.timers.clear(r.id);
    else if (this.timers.has(r.id) || this.timers.size < MAX_LOCAL_TIMERS) this.timers.set(r.id, due, Date.now());
  }

  private serial<T>(deviceId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.deliveryChains.get(deviceId) ?? Promise.resolve();
    const run = previous.then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.deliveryChains.set(deviceId, tail);
    void tail.then(() => {
      if (this.deliveryChains.get(deviceId) === tail) this.deliveryChains.delete(deviceId);
    });
    return run;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }

  /** Runs fn every `ms` after the previous run ended; logs the first failure and the recovery, not each tick. */
  private repeat(ms: number, what: string, fn: () => Promise<unknown>): void {
    let failing = false;
    const schedule = (): void => {
      if (this.closed) return;
      const timer = setTimeout(() => {
        this.loopTimers.delete(timer);
        void this.track(
          fn()
            .then(() => {
              if (failing) this.options.log.info(`${what} works again`);
              failing = false;
            })
            .catch((err: unknown) => {
              if (!failing) this.options.log.warn({ err }, `${what} failed; trying again every ${ms} ms`);
              failing = true;
            })
            .finally(schedule),
        );
      }, ms);
      timer.unref();
      this.loopTimers.add(timer);
    };
    schedule();
  }

  /** Storage faults become `storage_unavailable` (503); the caller's own faults (ProtocolError) pass as they are. */
  private async guard<T>(what: string, message: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ProtocolError) throw err;
      this.options.log.error({ err }, what);
      throw new ProtocolError('storage_unavailable', message);
    }
  }

  private count(disposition: ResultDisposition, status: ResultStatus): void {
    const key = `${disposition}:${status}` as const;
    this.resultCounts.set(key, (this.resultCounts.get(key) ?? 0) + 1);
  }
}
