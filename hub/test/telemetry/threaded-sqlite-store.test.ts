import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { ThreadedSqliteTelemetryStore } from '../../src/telemetry/threaded/threaded-sqlite-store.js';
import { runStoreContract } from './store-contract.js';
import { eventually } from '../helpers/clients.js';

function tempFile(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-threaded-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'telemetry.db');
}

async function openStore(t: Test, file = tempFile(t)): Promise<ThreadedSqliteTelemetryStore> {
  const store = new ThreadedSqliteTelemetryStore({ file });
  await store.open();
  t.teardown(() => store.close());
  return store;
}

runStoreContract(t, 'threaded sqlite', (t) => openStore(t));

t.test('threaded sqlite: data survives close and reopen, and new series get ids of their own', async (t) => {
  const file = tempFile(t);
  const first = new ThreadedSqliteTelemetryStore({ file });
  await first.open();
  await first.write([{ deviceId: 'd', metric: 'm', ts: 1000, value: 5 }]);
  await first.close();
  const second = await openStore(t, file);
  t.same(await second.latest('d'), { m: { ts: 1000, value: 5 } });
  await second.write([{ deviceId: 'd', metric: 'n', ts: 1000, value: 6 }, { deviceId: 'e', metric: 'm', ts: 1000, value: 7 }]);
  t.same(await second.latest('d'), { m: { ts: 1000, value: 5 }, n: { ts: 1000, value: 6 } });
  t.same(await second.latest('e'), { m: { ts: 1000, value: 7 } });
});

t.test('threaded sqlite: a read posted after a write sees it, without waiting for the write', async (t) => {
  const store = await openStore(t);
  const written = store.write([{ deviceId: 'd', metric: 'm', ts: 1000, value: 1 }]);
  const read = store.latest('d');
  await written;
  t.same(await read, { m: { ts: 1000, value: 1 } });
});

t.test('threaded sqlite: a series first seen in a failed write is defined by the next write that uses it', async (t) => {
  const store = await openStore(t);
  // NaN binds as NULL: the NOT NULL column fails the whole transaction, so the new series 'a' is not stored either.
  await t.rejects(
    store.write([
      { deviceId: 'd', metric: 'a', ts: 1000, value: 1 },
      { deviceId: 'x', metric: 'b', ts: Number.NaN, value: 1 },
    ]),
    /NOT NULL/,
    'the store error reaches the caller',
  );
  t.same(await store.latest('d'), {}, 'nothing of the failed write is stored');
  await store.write([{ deviceId: 'd', metric: 'a', ts: 2000, value: 2 }]);
  t.same(await store.latest('d'), { a: { ts: 2000, value: 2 } }, 'the retry stored the series and its value');
});

t.test('threaded sqlite: a deleted device starts afresh, and other devices keep their data', async (t) => {
  const store = await openStore(t);
  await store.write([{ deviceId: 'd', metric: 'm', ts: 1000, value: 1 }, { deviceId: 'e', metric: 'm', ts: 1000, value: 2 }]);
  await store.deleteDevice('d');
  t.same(await store.latest('d'), {});
  await store.write([{ deviceId: 'd', metric: 'm', ts: 3000, value: 3 }]);
  t.same(await store.latest('d'), { m: { ts: 3000, value: 3 } });
  t.same(await store.latest('e'), { m: { ts: 1000, value: 2 } });
});

t.test('threaded sqlite: when the store thread dies, calls fail with the reason until a new thread takes over', async (t) => {
  const failures: string[] = [];
  let restarted = 0;
  const store = new ThreadedSqliteTelemetryStore(
    { file: tempFile(t), restartDelayMs: 200 },
    { onThreadFailure: (err) => failures.push(err.message), onThreadRestarted: () => void (restarted += 1) },
  );
  await store.open();
  t.teardown(() => store.close());
  await store.write([{ deviceId: 'd', metric: 'm', ts: 1000, value: 1 }]);
  // The only way to kill the thread from outside: its handle is private.
  const worker = (store as unknown as { worker: Worker }).worker;
  const inFlight = store.latest('d');
  await worker.terminate();
  await t.rejects(inFlight, /telemetry store thread exited/);
  await t.rejects(store.write([{ deviceId: 'd', metric: 'n', ts: 2000, value: 2 }]), /telemetry store thread exited/, 'refused while it is down');
  t.same(failures, ['the telemetry store thread exited (code 1)'], 'the owner is told once, with the reason');

  await eventually(() => restarted === 1, 5000, 'a new thread');
  t.not((store as unknown as { worker: Worker }).worker, worker, 'a new thread, not the dead one');
  t.same(await store.latest('d'), { m: { ts: 1000, value: 1 } }, 'what was committed before is there');
  // A new series after the restart, and the old one again: numbered from what the file holds.
  await store.write([{ deviceId: 'd', metric: 'n', ts: 3000, value: 3 }, { deviceId: 'e', metric: 'm', ts: 3000, value: 4 }]);
  await store.write([{ deviceId: 'd', metric: 'm', ts: 3000, value: 5 }]);
  t.same(await store.latest('d'), { m: { ts: 3000, value: 5 }, n: { ts: 3000, value: 3 } });
  t.same(await store.latest('e'), { m: { ts: 3000, value: 4 } });
  t.equal(failures.length, 1, 'no failure after the restart');
});

t.test('threaded sqlite: a store closed while its thread is down starts no new one', async (t) => {
  let restarted = 0;
  const store = new ThreadedSqliteTelemetryStore({ file: tempFile(t), restartDelayMs: 100 }, { onThreadRestarted: () => void (restarted += 1) });
  await store.open();
  await (store as unknown as { worker: Worker }).worker.terminate();
  await t.resolves(store.close(), 'close after the failure does not throw');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(restarted, 0);
  await t.rejects(store.latest('d'), /used before open\(\) or after close\(\)/);
});

t.test('threaded sqlite: a file that cannot be opened fails open() with SQLite\'s reason', async (t) => {
  const store = new ThreadedSqliteTelemetryStore({ file: join(tempFile(t), 'no-such-dir', 'telemetry.db') });
  await t.rejects(store.open(), /unable to open|directory does not exist/i);
});

t.test('threaded sqlite: writes that queue while the thread is busy share one commit, and all land', async (t) => {
  const store = await openStore(t);
  // A read first keeps the thread busy while the writes queue up behind it.
  const read = store.history({ deviceId: 'd', metrics: null, from: 0, to: 10_000, maxPoints: 100 });
  const writes = Array.from({ length: 20 }, (_, i) => store.write([{ deviceId: 'd', metric: 'm', ts: 1000 + i, value: i }]));
  await read;
  await Promise.all(writes);
  t.ok(store.commits >= 1 && store.commits < writes.length, `20 writes in ${store.commits} commits`);
  const stored = await store.history({ deviceId: 'd', metrics: ['m'], from: 0, to: 10_000, maxPoints: 100 });
  t.same(stored.series[0]?.points.map((p) => p.avg), Array.from({ length: 20 }, (_, i) => i), 'every write is stored');
});

t.test('threaded sqlite: a bad write merged with good ones fails alone', async (t) => {
  const store = await openStore(t);
  const read = store.latest('d');
  const good1 = store.write([{ deviceId: 'd', metric: 'm', ts: 1000, value: 1 }]);
  const bad = store.write([{ deviceId: 'd', metric: 'm', ts: Number.NaN, value: 2 }]);
  const good2 = store.write([{ deviceId: 'd', metric: 'n', ts: 1000, value: 3 }]);
  await read;
  await t.rejects(bad, /NOT NULL/, 'the bad write fails');
  await good1;
  await good2;
  t.same(await store.latest('d'), { m: { ts: 1000, value: 1 }, n: { ts: 1000, value: 3 } }, 'the others are stored');
});

t.test('threaded sqlite: a long history read does not hold up writes (issue 18, item 2)', async (t) => {
  const store = await openStore(t);
  // 20 series × 40,000 points: reading all of it in buckets scans 800,000 rows.
  for (let chunk = 0; chunk < 20; chunk++) {
    const points = [];
    for (let i = 0; i < 40_000; i++) points.push({ deviceId: 'big', metric: `m${chunk}`, ts: 1_000_000 + i, value: i });
    await store.write(points);
  }
  let readDone = false;
  const read = store.history({ deviceId: 'big', metrics: null, from: 0, to: 2_000_000, maxPoints: 10_000 }).then((r) => {
    readDone = true;
    return r;
  });
  // Once the read runs (it starts after the writer moved its journal), a write is posted.
  await new Promise((r) => setTimeout(r, 30));
  await store.write([{ deviceId: 'other', metric: 'x', ts: 5000, value: 1 }]);
  t.notOk(readDone, 'the write committed while the long read was still running');
  const result = await read;
  t.equal(result.series.length, 20);
  t.equal(result.series[0]?.points.reduce((n, p) => n + p.count, 0), 40_000, 'the read saw every committed point');
  t.same(await store.latest('other'), { x: { ts: 5000, value: 1 } });
});
