/**
 * Who did what to which device, when, and how it ended.
 *
 * Entries are appended to a store (SQLite on one node, PostgreSQL in a
 * cluster) and read newest first in pages. A
 * `command.create` entry gets its outcome (the command's final state) when
 * the command ends, from the `command` events. The log is bounded: it keeps
 * the newest `maxEntries` and prunes the rest every `pruneEvery` new entries.
 * `record` never rejects: a failure is logged and it resolves null, so an
 * audit problem never undoes or fails the action it describes once that is
 * done. `recordIn` is the other way round, for a store with transactions:
 * the entry is part of the change's transaction, and a failure fails both.
 */
import { isFinalCommandState, ProtocolError, type AuditAction, type AuditEntry, type AuditListResponse, type CommandView } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { EventBus } from '../events/event-bus.js';
import type { AuditStore } from './audit-store.js';
import { SqliteAuditStore } from './sqlite-audit-store.js';

/** Every action, for validating filters (a Record so a new AuditAction must be added here). */
const ACTIONS: Record<AuditAction, true> = {
  'command.create': true,
  'command.cancel': true,
  'state.desired': true,
  'device.create': true,
  'device.delete': true,
  'device.update': true,
  'device.token.rotate': true,
  'device.token.revoke': true,
  'device.probe': true,
  'user.create': true,
  'user.delete': true,
  'token.create': true,
  'token.delete': true,
  'rule.create': true,
  'rule.update': true,
  'rule.delete': true,
  'alert.ack': true,
  'silence.create': true,
  'silence.delete': true,
  'notifier.create': true,
  'notifier.delete': true,
};
export const AUDIT_ACTIONS = Object.keys(ACTIONS) as AuditAction[];

export function isAuditAction(value: string): value is AuditAction {
  return Object.hasOwn(ACTIONS, value);
}

export const DEFAULT_MAX_AUDIT_ENTRIES = 100_000;
export const DEFAULT_AUDIT_PRUNE_EVERY = 1_000;
/** Final states of commands that ended recently, for a `command.create` recorded after its command ended. */
const RECENT_FINAL_STATES = 1_024;

export type AuditLogOptions<Tx = never> = AuditLogSettings & (
  /** SQLite file (shared with the command and state stores, each with its own tables). */
  { file: string; store?: undefined } | { store: AuditStore<Tx>; file?: undefined }
);

export interface AuditLogSettings {
  /** Command events fill in the outcome of `command.create` entries. */
  events: EventBus;
  log: Logger;
  /** Entries kept; older ones are deleted (default 100,000). */
  maxEntries?: number;
  /** Prune after this many new entries (default 1,000), so the log holds up to maxEntries + pruneEvery. */
  pruneEvery?: number;
}

export interface AuditInput {
  actor: string;
  action: AuditAction;
  deviceId: string | null;
  commandId?: string | null;
  details: Record<string, unknown>;
  outcome?: string | null;
}

export interface AuditFilter {
  deviceId?: string;
  actor?: string;
  action?: AuditAction;
  from?: number;
  to?: number;
  limit: number;
  /** `next` of a previous page. */
  before?: string;
}

/** What the API and the services use of the audit log. */
export interface Audit {
  /** Appends an entry; null (and an error in the log) if it could not be stored. Never rejects. */
  record(input: AuditInput, now?: number): Promise<AuditEntry | null>;
  /** Newest first; `next` is the cursor for the following (older) page, null on the last page. */
  list(filter: AuditFilter): Promise<AuditListResponse>;
}

/** Recording inside the transaction of the change it describes (PostgreSQL: `Tx` is the transaction's connection). */
export interface TransactionalAudit<Tx> {
  /** Appends the entry within `tx`; rejects when it cannot, so the change rolls back with it. */
  recordIn(tx: Tx, input: AuditInput, now?: number): Promise<AuditEntry>;
}

export class AuditLog<Tx = never> implements Audit, TransactionalAudit<Tx> {
  private readonly store: AuditStore<Tx>;
  private readonly maxEntries: number;
  private readonly pruneEvery: number;
  private sincePrune = 0;
  private opened = false;
  private readonly recentFinal = new Map<string, string>();

  constructor(readonly options: AuditLogOptions<Tx>) {
    this.store = options.store ?? new SqliteAuditStore(options.file);
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_AUDIT_ENTRIES;
    this.pruneEvery = options.pruneEvery ?? DEFAULT_AUDIT_PRUNE_EVERY;
    if (!(this.maxEntries >= 1 && this.pruneEvery >= 1)) throw new RangeError('AuditLog: maxEntries and pruneEvery must be at least 1');
  }

  async open(): Promise<void> {
    await this.store.open();
    this.opened = true;
    await this.prune();
    this.options.events.on(this, 'command', (e) => this.commandChanged(e.command));
  }

  async close(): Promise<void> {
    this.options.events.removeAllFor(this);
    this.opened = false;
    await this.store.close();
    this.recentFinal.clear();
  }

  async record(input: AuditInput, now = Date.now()): Promise<AuditEntry | null> {
    const entry = this.entryOf(input, now);
    if (!this.opened) {
      this.options.log.error({ entry }, 'audit entry not recorded: the audit log is closed');
      return null;
    }
    try {
      const id = await this.store.insert(entry);
      await this.counted();
      return { id, ...entry };
    } catch (err) {
      this.options.log.error({ err, entry }, 'audit entry not recorded');
      return null;
    }
  }

  async recordIn(tx: Tx, input: AuditInput, now = Date.now()): Promise<AuditEntry> {
    const entry = this.entryOf(input, now);
    if (!this.opened) throw new Error('audit entry not recorded: the audit log is closed');
    const id = await this.store.insert(entry, tx);
    // Not awaited: pruning needs a connection of its own, and waiting for one while holding the
    // change's transaction (and its row locks) could starve a full pool. It never rejects.
    void this.counted();
    return { id, ...entry };
  }

  async list(filter: AuditFilter): Promise<AuditListResponse> {
    const beforeId = filter.before === undefined ? undefined : decodeCursor(filter.before);
    const { deviceId, actor, action, from, to } = filter;
    const rows = await this.store.query({ deviceId, actor, action, from, to, beforeId, limit: filter.limit + 1 });
    const entries = rows.slice(0, filter.limit);
    const last = entries.at(-1);
    return { entries, next: rows.length > filter.limit && last ? encodeCursor(last.id) : null };
  }

  private entryOf(input: AuditInput, now: number): Omit<AuditEntry, 'id'> {
    const commandId = input.commandId ?? null;
    let outcome = input.outcome ?? null;
    // The command may have ended before its creation was recorded.
    if (outcome === null && input.action === 'command.create' && commandId !== null) outcome = this.recentFinal.get(commandId) ?? null;
    return { ts: now, actor: input.actor, action: input.action, deviceId: input.deviceId, commandId, details: input.details, outcome };
  }

  private async counted(): Promise<void> {
    this.sincePrune += 1;
    if (this.sincePrune >= this.pruneEvery) await this.prune();
  }

  private commandChanged(command: CommandView): void {
    if (!isFinalCommandState(command.state)) return;
    this.recentFinal.set(command.id, command.state);
    if (this.recentFinal.size > RECENT_FINAL_STATES) this.recentFinal.delete(this.recentFinal.keys().next().value as string);
    // Never reject into the event bus: the command service emitted this. Every node may see the
    // event (cluster); the store sets an outcome only where there is none, so it is written once.
    this.store.setCommandOutcome(command.id, command.state).catch((err: unknown) => {
      this.options.log.error({ err, commandId: command.id }, 'recording the outcome of a command failed');
    });
  }

  private async prune(): Promise<void> {
    this.sincePrune = 0;
    try {
      const deleted = await this.store.prune(this.maxEntries);
      if (deleted > 0) this.options.log.debug({ deleted, kept: this.maxEntries }, 'pruned the audit log');
    } catch (err) {
      this.options.log.error({ err }, 'pruning the audit log failed');
    }
  }
}

const CURSOR_PREFIX = 'a1.';

function encodeCursor(id: number): string {
  return CURSOR_PREFIX + Buffer.from(String(id)).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const raw = cursor.startsWith(CURSOR_PREFIX) ? Buffer.from(cursor.slice(CURSOR_PREFIX.length), 'base64url').toString() : '';
  if (!/^[1-9]\d{0,15}$/.test(raw)) throw new ProtocolError('bad_request', `before must be the "next" of a previous page, got ${JSON.stringify(cursor)}`);
  return Number(raw);
}
