/**
 * Keeps a node's in-memory Registry equal to the registry all nodes share
 * in PostgreSQL (docs/design.md: cluster mode, "registry … per-node read cache"):
 * devices provisioned, rotated, revoked, re-declared or deleted through any
 * node reach this one. It polls PgRegistryStore.changedSince() every
 * interval, and at once when nudged (the lead nudges on each bus `registry`
 * event; the bus is at most once, so the poll is what guarantees it).
 *
 * Changes are applied with the Registry's silent mirror methods: nothing is
 * emitted on this node's EventBus (its listeners would act on another
 * node's change a second time). What changed goes to `onChanged`, for the
 * lead to tell dashboards and cut sessions of devices removed or whose
 * token changed.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { DeviceRecord } from '../../registry/registry-store.js';
import type { DeviceEntry, Registry } from '../../registry/registry.js';
import type { RegistryChanges } from './pg-registry-store.js';

export interface CredentialChange {
  id: string;
  change: 'rotated' | 'revoked';
}

/**
 * Called after each applied chunk, in the turn that applied it. A device
 * deleted and provisioned again elsewhere is in `removedIds` and in `added`
 * of the same call: handle removals first.
 */
export type RegistryChangeListener = (added: DeviceEntry[], updated: DeviceEntry[], removedIds: string[], credentials: CredentialChange[]) => void;

export interface RegistrySyncOptions {
  store: { changedSince(updatedAfter: number): Promise<RegistryChanges> };
  registry: Registry;
  /** Between two polls when not nudged: how late a change missed by the bus can show. */
  intervalMs?: number;
  /** Records (or deletions) applied per event-loop turn: 100k changed devices do not stall the node. */
  chunkSize?: number;
  log: Logger;
  onChanged?: RegistryChangeListener;
}

export const DEFAULT_SYNC_INTERVAL_MS = 2_000;
export const DEFAULT_SYNC_CHUNK = 1_000;

export class RegistrySync {
  private readonly intervalMs: number;
  private readonly chunkSize: number;
  /** What the next changedSince() starts from; null: read everything and drop what is gone. */
  private cursor: number | null = null;
  private running: Promise<void> | null = null;
  /** A nudge came while a poll was running: one more poll follows it, however many came. */
  private queued: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private failing = false;
  /** For /metrics: polls ended, polls failed, device records and removals applied from other nodes. */
  readonly counters = { polls: 0, failedPolls: 0, applied: 0 };

  constructor(private readonly options: RegistrySyncOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
    this.chunkSize = options.chunkSize ?? DEFAULT_SYNC_CHUNK;
  }

  /**
   * A first full pass (the registry may have been loaded a while ago, and
   * what was deleted meanwhile shows in no delta), then polls. Call after
   * registry.start(). Rejects if that pass fails: the node is not ready.
   */
  async start(): Promise<void> {
    this.stopped = false;
    await this.poll();
    if (!this.failing) return;
    await this.stop();
    throw new Error('the first registry sync failed: see the log');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.queued;
    await this.running;
  }

  /** A poll soon: now if none is running, else right after the running one (coalesced). */
  nudge(): void {
    void this.poll();
  }

  /** Resolves once a poll that started after this call has ended (a failed poll is logged, not thrown). */
  poll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    // Not started yet, so it starts after this call: wait for it, start no other.
    if (this.queued) return this.queued;
    if (!this.running) return (this.running = this.run());
    return (this.queued = this.running.then(() => {
      this.queued = null;
      return this.stopped ? undefined : (this.running = this.run());
    }));
  }

  private async run(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      await this.pollOnce();
      this.counters.polls += 1;
      if (this.failing) this.options.log.info('registry sync recovered');
      this.failing = false;
    } catch (err) {
      this.counters.failedPolls += 1;
      // Logged once per outage: the cursor stays, the next poll catches up.
      if (!this.failing) this.options.log.warn({ err }, 'registry sync failed; retrying');
      this.failing = true;
    } finally {
      this.running = null;
      if (!this.stopped && !this.queued) {
        this.timer = setTimeout(() => void this.poll(), this.intervalMs);
        this.timer.unref();
      }
    }
  }

  private async pollOnce(): Promise<void> {
    const { store, registry } = this.options;
    // Before the read: a write of this node that the read may predate is not undone (see LocalWrites).
    const mark = registry.localWrites.mark();
    let full = this.cursor === null;
    let changes = await store.changedSince(this.cursor ?? 0);
    if (changes.missedDeletions && !full) {
      full = true;
      changes = await store.changedSince(0);
    }
    const skip = (id: string): boolean => registry.localWrites.since(id, mark);
    for (let at = 0; at < changes.records.length; at += this.chunkSize) {
      if (at > 0) await nextTurn();
      this.applyRecords(changes.records.slice(at, at + this.chunkSize), skip);
    }
    const gone = full ? this.absentFrom(changes.records) : changes.deletedIds;
    for (let at = 0; at < gone.length; at += this.chunkSize) {
      await nextTurn();
      const removed = gone.slice(at, at + this.chunkSize).filter((id) => !skip(id) && registry.mirrorRemoved(id));
      this.counters.applied += removed.length;
      if (removed.length > 0) this.options.onChanged?.([], [], removed, []);
    }
    this.cursor = changes.cursor;
  }

  private applyRecords(records: readonly DeviceRecord[], skip: (id: string) => boolean): void {
    const added: DeviceEntry[] = [];
    const updated: DeviceEntry[] = [];
    const removed: string[] = [];
    const credentials: CredentialChange[] = [];
    for (const record of records) {
      if (skip(record.id)) continue;
      const outcome = this.options.registry.mirrorRecord(record);
      if (outcome.change === 'unchanged') continue;
      if (outcome.change === 'replaced') removed.push(record.id);
      if (outcome.change === 'updated') updated.push(outcome.entry);
      else added.push(outcome.entry);
      if (outcome.credentials) credentials.push({ id: record.id, change: outcome.credentials });
    }
    this.counters.applied += added.length + updated.length;
    if (added.length + updated.length > 0) this.options.onChanged?.(added, updated, removed, credentials);
  }

  /** Devices held here that a full read does not have: deleted while no delta could tell. */
  private absentFrom(records: readonly DeviceRecord[]): string[] {
    const present = new Set(records.map((r) => r.id));
    const gone: string[] = [];
    for (const entry of this.options.registry.all()) if (!present.has(entry.record.id)) gone.push(entry.record.id);
    return gone;
  }
}
