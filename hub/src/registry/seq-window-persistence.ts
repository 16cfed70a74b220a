/**
 * Keeps each device's seq windows [FP-4.2] in a seq window store: the boot
 * of a hello is saved before that hello is acknowledged, committed seqs
 * every SEQ_PERSIST_MS, and in cluster mode one device's windows are
 * reloaded when this node takes the device over from another.
 *
 * SQLite's store answers synchronously, PostgreSQL's resolves once
 * committed: every call is awaited, so one code path serves both.
 */
import { ProtocolError, type HelloMessage } from '@iot-hub/protocol';
import type { Logger } from 'pino';
import { BootWindows, SeqWindow, bootOfKey, type BootKey } from '../telemetry/seq-windows.js';
import type { DeviceEntry } from './registry.js';
import type { SeqWindowStore, StoredSeqWindow } from './sqlite-seq-window-store.js';

/**
 * What the registry needs of a seq window store: SeqWindowStore's methods,
 * answered at once (SQLite) or by a promise (PostgreSQL). `loadDevice`
 * (one device's boot and windows) only where nodes share the store.
 */
export type RegistrySeqWindowStore = {
  [K in keyof SeqWindowStore]: (...args: Parameters<SeqWindowStore[K]>) => ReturnType<SeqWindowStore[K]> | Promise<Awaited<ReturnType<SeqWindowStore[K]>>>;
} & {
  loadDevice?(deviceId: string): Promise<{ current: BootKey | null; windows: StoredSeqWindow[] }>;
};

/**
 * How often committed seqs are persisted [FP-4.2]: after a hub crash, a
 * sample acknowledged within about this long before it and then resent may
 * be stored twice (if it has no `ts`; one with `ts` replaces itself).
 */
export const SEQ_PERSIST_MS = 1_000;

export class SeqWindowPersistence {
  /** Devices with windows changed or boots evicted since the last persist. */
  private readonly dirty = new Set<DeviceEntry>();
  private timer: NodeJS.Timeout | null = null;
  private persisting: Promise<void> | null = null;
  /** A device's boot saves in flight: they run one after the other, so the boot stored is the last hello's. */
  private readonly bootSaves = new Map<DeviceEntry, Promise<void>>();
  /** Devices whose current boot failed to save: the hello sent again saves it, though it names the same boot. */
  private readonly unsavedBoots = new WeakSet<DeviceEntry>();

  constructor(
    private readonly store: RegistrySeqWindowStore,
    /** Whether the entry is still the registry's for its id (a deleted device's windows went with it). */
    private readonly isCurrent: (entry: DeviceEntry) => boolean,
    private readonly log: Logger,
  ) {}

  /** Restores every device's windows, before start(). */
  async load(get: (id: string) => DeviceEntry | undefined): Promise<void> {
    const { current, windows } = await this.store.loadAll();
    for (const [id, key] of current) get(id)?.boots.restoreCurrent(key, bootOfKey(key));
    for (const w of windows) get(w.deviceId)?.boots.restore(SeqWindow.fromRuns(w.boot, w.last, w.runs, w.usedAt));
  }

  start(): void {
    this.timer = setInterval(() => void this.persist(), SEQ_PERSIST_MS);
    this.timer.unref();
  }

  /** Stops the timer and persists what is left, after a persist in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.persisting;
    await this.persist();
  }

  /**
   * The boot of a device's `hello` [FP-4.2], saved before the hello is
   * acknowledged when it changed: telemetry without `boot` that follows must
   * be checked in this boot's window, after a hub crash too, and on another
   * node. The boot is this node's current one at once (in memory); a failed
   * save rejects with storage_unavailable.
   */
  async setBoot(entry: DeviceEntry, boot: HelloMessage['boot'], now: number): Promise<void> {
    if (!entry.boots.setCurrent(boot, now) && !this.unsavedBoots.has(entry)) return;
    const previous = this.bootSaves.get(entry);
    const save = (async (): Promise<void> => {
      if (previous) await previous.catch(() => undefined);
      // The boot current when the write starts: an earlier hello's never overwrites a later one's.
      await this.store.saveCurrentBoot(entry.record.id, entry.boots.current);
    })();
    this.bootSaves.set(entry, save);
    try {
      await save;
      this.unsavedBoots.delete(entry);
    } catch (err) {
      this.unsavedBoots.add(entry);
      this.log.error({ err, deviceId: entry.record.id }, 'saving the boot of a hello failed');
      throw new ProtocolError('storage_unavailable', 'could not record the boot: send hello again');
    } finally {
      if (this.bootSaves.get(entry) === save) this.bootSaves.delete(entry);
    }
    this.dirty.add(entry);
  }

  /** The telemetry store committed the writes of these seqs: the window is persisted at the next tick. */
  seqsCommitted(entry: DeviceEntry, window: SeqWindow): void {
    if (!entry.boots.holds(window)) return;
    entry.boots.changed.add(window);
    this.dirty.add(entry);
  }

  /** Changed windows and evicted boots of every device, in one transaction; never two at once. */
  persist(): Promise<void> {
    return (this.persisting ??= this.persistOnce().finally(() => (this.persisting = null)));
  }

  /**
   * Only committed seqs [FP-4.2]. What a run saves is taken out of the
   * devices' change sets before the write starts: seqs committed while it
   * is in flight are saved by the next run, and a failed run puts back what
   * still applies.
   */
  private async persistOnce(): Promise<void> {
    if (this.dirty.size === 0) return;
    const upserts: StoredSeqWindow[] = [];
    const deletes: { deviceId: string; boot: BootKey }[] = [];
    const taken: { entry: DeviceEntry; boots: BootWindows; changed: SeqWindow[]; evicted: BootKey[] }[] = [];
    for (const entry of this.dirty) {
      // Deleted meanwhile: its rows went with it.
      if (!this.isCurrent(entry)) continue;
      const deviceId = entry.record.id;
      const { boots } = entry;
      const evicted = [...boots.evicted];
      const changed = [...boots.changed].filter((w) => w.key !== null && boots.holds(w));
      for (const boot of evicted) deletes.push({ deviceId, boot });
      for (const w of changed) upserts.push({ deviceId, boot: w.key as BootKey, usedAt: w.usedAt, last: w.last, runs: w.committedRuns() });
      boots.evicted.clear();
      boots.changed.clear();
      taken.push({ entry, boots, changed, evicted });
    }
    this.dirty.clear();
    try {
      await this.store.save({ upserts, deletes });
    } catch (err) {
      this.log.error({ err }, 'saving seq windows failed');
      // Tried again at the next tick, unless the device went or its windows were reloaded.
      for (const { entry, boots, changed, evicted } of taken) {
        if (entry.boots !== boots || !this.isCurrent(entry)) continue;
        boots.requeue(changed, evicted);
        this.dirty.add(entry);
      }
    }
  }

  /**
   * Replaces a device's windows with the store's: this node takes the device
   * over from another, whose windows are newer than any this node held.
   */
  async reload(entry: DeviceEntry): Promise<void> {
    if (!this.store.loadDevice) throw new Error('reloading one device\'s seq windows needs a store shared by the nodes (PgSeqWindowStore)');
    const { current, windows } = await this.store.loadDevice(entry.record.id);
    const boots = new BootWindows();
    if (current !== null) boots.restoreCurrent(current, bootOfKey(current));
    for (const w of windows) boots.restore(SeqWindow.fromRuns(w.boot, w.last, w.runs, w.usedAt));
    entry.boots = boots;
    this.unsavedBoots.delete(entry);
  }

  async deleteDevice(deviceId: string): Promise<void> {
    await this.store.deleteDevice(deviceId);
  }
}
