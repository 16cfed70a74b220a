/**
 * The contract every seq window store keeps [FP-4.2]: the SQLite store
 * (synchronous, in registry.db) and the cluster's PostgreSQL store
 * (asynchronous) run these same tests.
 */
import type { Test } from 'tap';
import { MAX_BOOT_WINDOWS } from '@iot-hub/protocol';
import type { RegistryStore } from '../../src/registry/registry-store.js';
import type { SeqWindowStore, StoredSeqWindow } from '../../src/registry/sqlite-seq-window-store.js';
import type { AsyncSeqWindowStore } from '../../src/cluster/registry/pg-seq-window-store.js';
import { bootKey } from '../../src/telemetry/seq-windows.js';
import { device } from './registry-store-contract.js';

export type AnySeqWindowStore = SeqWindowStore | AsyncSeqWindowStore;

export interface SeqWindowBackend {
  /**
   * The registry and the seq window store on this test's storage, opened
   * (registry first); a second call is the same data seen again: a restart,
   * or another node.
   */
  open(): Promise<{ registry: RegistryStore; windows: AnySeqWindowStore }>;
}

/** null: the backend's server is missing and the test was skipped (failed under CI). */
export type SeqWindowBackendFactory = (t: Test) => Promise<SeqWindowBackend | null>;

function win(deviceId: string, boot: string, usedAt: number, last = 10, runs: number[] = [0, last + 1]): StoredSeqWindow {
  return { deviceId, boot, usedAt, last, runs };
}

/** Per device, in the order loadAll gives them (least recently used first). */
function byDevice(windows: readonly StoredSeqWindow[]): Record<string, StoredSeqWindow[]> {
  const out: Record<string, StoredSeqWindow[]> = {};
  for (const w of windows) (out[w.deviceId] ??= []).push(w);
  return out;
}

export function runSeqWindowStoreContract(t: Test, name: string, backend: SeqWindowBackendFactory): void {
  /** A backend with devices d1 and d2 registered. */
  async function withDevices(t: Test): Promise<SeqWindowBackend | null> {
    const b = await backend(t);
    if (!b) return null;
    const { registry } = await b.open();
    for (const id of ['d1', 'd2']) await registry.insert(device(id));
    return b;
  }

  t.test(`${name}: the current boot of each device is saved, replaced and cleared`, async (t) => {
    const b = await withDevices(t);
    if (!b) return;
    const { windows: store } = await b.open();
    t.same(await store.loadAll(), { current: new Map(), windows: [] }, 'nothing at first');
    await store.saveCurrentBoot('d1', bootKey('a'));
    await store.saveCurrentBoot('d2', bootKey(5));
    await store.saveCurrentBoot('d1', bootKey('b'));
    t.same([...(await store.loadAll()).current].sort(), [['d1', 's:b'], ['d2', 'n:5']]);
    await store.saveCurrentBoot('d2', null);
    t.same([...(await (await b.open()).windows.loadAll()).current], [['d1', 's:b']], 'after a reopen');
  });

  t.test(`${name}: windows read back exactly, and an upsert replaces its boot's window`, async (t) => {
    const b = await withDevices(t);
    if (!b) return;
    const { windows: store } = await b.open();
    const huge = Number.MAX_SAFE_INTEGER;
    const first = [win('d1', 's:a', 1_000, 40, [0, 30, 35, 6]), win('d1', 'n:7', 2_000, huge, [huge - 2, 3]), win('d2', 's:a', 1_500)];
    await store.save({ upserts: first, deletes: [] });
    t.same(byDevice((await store.loadAll()).windows), { d1: [first[0], first[1]], d2: [first[2]] });
    const replaced = win('d1', 's:a', 3_000, 50, [20, 31]);
    await store.save({ upserts: [replaced], deletes: [] });
    t.same(byDevice((await (await b.open()).windows.loadAll()).windows), { d1: [first[1], replaced], d2: [first[2]] }, 'after a reopen, least recently used first');
  });

  t.test(`${name}: deletes come before upserts in one save`, async (t) => {
    const b = await withDevices(t);
    if (!b) return;
    const { windows: store } = await b.open();
    await store.save({ upserts: [win('d1', 's:a', 1), win('d1', 's:b', 2), win('d2', 's:a', 3)], deletes: [] });
    const back = win('d1', 's:a', 10, 99, [99, 1]);
    await store.save({
      upserts: [back],
      deletes: [
        { deviceId: 'd1', boot: 's:a' },
        { deviceId: 'd1', boot: 's:b' },
        { deviceId: 'd1', boot: 's:never' },
      ],
    });
    t.same(byDevice((await store.loadAll()).windows), { d1: [back], d2: [win('d2', 's:a', 3)] });
  });

  t.test(`${name}: a device loads with its ${MAX_BOOT_WINDOWS} most recently used boots`, async (t) => {
    const b = await withDevices(t);
    if (!b) return;
    const { windows: store } = await b.open();
    const many = [6, 2, 5, 1, 4, 3].map((n) => win('d1', `s:boot${n}`, n * 100));
    await store.save({ upserts: [...many, win('d2', 's:x', 1)], deletes: [] });
    const loaded = byDevice((await store.loadAll()).windows);
    t.same(
      loaded.d1?.map((w) => w.boot),
      ['s:boot3', 's:boot4', 's:boot5', 's:boot6'].slice(-MAX_BOOT_WINDOWS),
    );
    t.same(loaded.d2, [win('d2', 's:x', 1)], 'another device keeps its own');
  });

  t.test(`${name}: deleteDevice drops that device's windows and boot only`, async (t) => {
    const b = await withDevices(t);
    if (!b) return;
    const { windows: store } = await b.open();
    await store.save({ upserts: [win('d1', 's:a', 1), win('d2', 's:a', 2)], deletes: [] });
    await store.saveCurrentBoot('d1', 's:a');
    await store.saveCurrentBoot('d2', 's:a');
    await store.deleteDevice('d1');
    const loaded = await store.loadAll();
    t.same([[...loaded.current], loaded.windows], [[['d2', 's:a']], [win('d2', 's:a', 2)]]);
  });

  t.test(`${name}: nothing outlives its device in the registry`, async (t) => {
    const b = await withDevices(t);
    if (!b) return;
    const { registry, windows: store } = await b.open();
    await store.save({ upserts: [win('d1', 's:a', 1), win('d2', 's:a', 2)], deletes: [] });
    await store.saveCurrentBoot('d1', 's:a');
    await registry.delete('d1');
    const loaded = await (await b.open()).windows.loadAll();
    t.same([[...loaded.current], loaded.windows], [[], [win('d2', 's:a', 2)]]);
  });

  t.test(`${name}: a device's boot id is kept as it came, NUL and quotes too`, async (t) => {
    const b = await withDevices(t);
    if (!b) return;
    const { windows: store } = await b.open();
    const odd = bootKey('a\u0000"b\'\\ 🚀');
    await store.saveCurrentBoot('d1', odd);
    await store.save({ upserts: [win('d1', odd, 5)], deletes: [] });
    await store.save({ upserts: [win('d1', odd, 6)], deletes: [] });
    const loaded = await (await b.open()).windows.loadAll();
    t.same([[...loaded.current], loaded.windows], [[['d1', odd]], [win('d1', odd, 6)]], 'one window for the key, read back equal');
    await store.save({ upserts: [], deletes: [{ deviceId: 'd1', boot: odd }] });
    t.same((await store.loadAll()).windows, [], 'and deleted by it');
  });
}
