/**
 * Who did what to which device, when, and how it ended.
 *
 * Entries are appended to SQLite and read newest first in pages. A
 * `command.create` entry gets its outcome (the command's final state) when
 * the command ends, from the `command` events. The log is bounded: it keeps
 * the newest `maxEntries` and prunes the rest every `pruneEvery` new entries.
 * Recording never throws: a failure is logged and `record` returns null, so
 * an audit problem never undoes or fails the action it describes.
 */
import { isFinalCommandState, ProtocolError, type AuditAction, type AuditEntry, type AuditListResponse, type CommandView } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import type { EventBus } from '../core/events.js';
import { SqliteAuditStore } from './sqlite-audit-store.js';

/** Every action, for validating filters (a Record so a new AuditAction must be added here). */
const ACTIONS: Record<AuditAction, true> = {
  'command.create': true,
  'command.cancel': true,
  'state.desired': true,
  'device.create': true,
  'device.delete': true,
  'device.token.rotate': true,
  'device.token.revoke': true,
  'device.probe': true,
  'user.create': true,
  'user.delete': true,
  'token.create': true,
  'token.delete': true,
};
export const AUDIT_ACTIONS = Object.keys(ACTIONS) as AuditAction[];

export function isAuditAction(value: string): value is AuditAction {
  return Object.hasOwn(ACTIONS, value);
}

export const DEFAULT_MAX_AUDIT_ENTRIES = 100_000;
export const DEFAULT_AUDIT_PRUNE_EVERY = 1_000;
/** Final states of commands that ended recently, for a `command.create` recorded after its command ended. */
const RECENT_FINAL_STATES = 1_024;

export interface AuditLogOptions {
  /** SQLite file (shared with the command and state stores, each with its own tables). */
  file: string;
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

export class AuditLog {
  private readonly store: SqliteAuditStore;
  private readonly maxEntries: number;
  private readonly pruneEvery: number;
  private sincePrune = 0;
  private opened = false;
  private readonly recentFinal = new Map<string, string>();

  constructor(readonly options: AuditLogOptions) {
    this.store = new SqliteAuditStore(options.file);
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_AUDIT_ENTRIES;
    this.pruneEvery = options.pruneEvery ?? DEFAULT_AUDIT_PRUNE_EVERY;
    if (!(this.maxEntries >= 1 && this.pruneEvery >= 1)) throw new RangeError('AuditLog: maxEntries and pruneEvery must be at least 1');
  }

  async open(): Promise<void> {
    this.store.open();
    this.opened = true;
    this.prune();
    this.options.events.on(this, 'command', (e) => this.commandChanged(e.command));
  }

  async close(): Promise<void> {
    this.options.events.removeAllFor(this);
    this.opened = false;
    this.store.close();
    this.recentFinal.clear();
  }

  /** Appends an entry; null (and an error in the log) if it could not be stored. */
  record(input: AuditInput, now = Date.now()): AuditEntry | null {
    const commandId = input.commandId ?? null;
    let outcome = input.outcome ?? null;
    // The command may have ended before its creation was recorded.
    if (outcome === null && input.action === 'command.create' && commandId !== null) outcome = this.recentFinal.get(commandId) ?? null;
    const entry: Omit<AuditEntry, 'id'> = { ts: now, actor: input.actor, action: input.action, deviceId: input.deviceId, commandId, details: input.details, outcome };
    if (!this.opened) {
      this.options.log.error({ entry }, 'audit entry not recorded: the audit log is closed');
      return null;
    }
    try {
      const id = this.store.insert(entry);
      this.sincePrune += 1;
      if (this.sincePrune >= this.pruneEvery) this.prune();
      return { id, ...entry };
    } catch (err) {
      this.options.log.error({ err, entry }, 'audit entry not recorded');
      return null;
    }
  }

  /** Newest first; `next` is the cursor for the following (older) page, null on the last page. */
  list(filter: AuditFilter): AuditListResponse {
    const beforeId = filter.before === undefined ? undefined : decodeCursor(filter.before);
    const { deviceId, actor, action, from, to } = filter;
    const rows = this.store.query({ deviceId, actor, action, from, to, beforeId, limit: filter.limit + 1 });
    const entries = rows.slice(0, filter.limit);
    const last = entries.at(-1);
    return { entries, next: rows.length > filter.limit && last ? encodeCursor(last.id) : null };
  }

  private commandChanged(command: CommandView): void {
    if (!isFinalCommandState(command.state)) return;
    this.recentFinal.set(command.id, command.state);
    if (this.recentFinal.size > RECENT_FINAL_STATES) this.recentFinal.delete(this.recentFinal.keys().next().value as string);
    try {
      this.store.setCommandOutcome(command.id, command.state);
    } catch (err) {
      // Never throw into the event bus: the command service emitted this.
      this.options.log.error({ err, commandId: command.id }, 'recording the outcome of a command failed');
    }
  }

  private prune(): void {
    this.sincePrune = 0;
    try {
      const deleted = this.store.prune(this.maxEntries);
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
