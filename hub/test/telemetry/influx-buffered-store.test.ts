/**
 * The InfluxDB store as the hub runs it: behind the durable local buffer.
 * Real influxd; outages are a SIGKILL of the server mid-stream.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { BufferedTelemetryStore } from '../../src/telemetry/buffer/buffered-telemetry-store.js';
import { TelemetryBuffer } from '../../src/telemetry/buffer/telemetry-buffer.js';
import { InfluxTelemetryStore } from '../../src/telemetry/influx/influx-telemetry-store.js';
import type { TelemetryPoint, TelemetryStore } from '../../src/telemetry/telemetry-store.js';
import { startInfluxd, type Influxd } from '../helpers/influxd.js';
import { runStoreContract } from './store-contract.js';

const influxd = await startInfluxd(t);
const log = pino({ level: 'silent' });
let n = 0;

interface Opened {
  store: BufferedTelemetryStore;
  inner: InfluxTelemetryStore;
  dir: string;
}

async function openBuffered(t: Test, server: Influxd, opts: { maxBytes?: number; database?: string; dir?: string } = {}): Promise<Opened> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'iot-hub-buffer-'));
  if (!opts.dir) t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const inner = new InfluxTelemetryStore({ url: server.urlFor(opts.database ?? `buffered_${++n}`), rawRetention: 'INF', rollupRetention: 'INF', requestTimeoutMs: 2000, log });
  const buffer = new TelemetryBuffer({ file: join(dir, 'influx-buffer.db'), maxBytes: opts.maxBytes ?? 64 * 1024 * 1024 });
  const store = new BufferedTelemetryStore(inner, buffer, { batchPoints: 500, flushMs: 50, concurrency: 2, deadLetterFile: join(dir, 'dead-letter.jsonl'), retryBaseMs: 20, retryMaxMs: 300, log });
  await store.open();
  t.teardown(() => store.close());
  return { store, inner, dir };
}

async function values(server: Influxd, database: string, device: string): Promise<number[]> {
  const res = await server.query(`SELECT "value" FROM "raw"."telemetry" WHERE "device" = '${device}'`, database);
  return (res.results[0]?.series?.[0]?.values ?? []).map((r) => Number(r[1]));
}

if (influxd) {
  // Reads see what drained: the contract runs with a flush after each write.
  runStoreContract(t, 'influx (buffered)', async (t) => {
    const { store } = await openBuffered(t, influxd);
    const flushing: TelemetryStore = {
      kind: store.kind,
      open: () => store.open(),
      close: () => store.close(),
      write: async (points) => {
        await store.write(points);
        await store.flush();
      },
      history: (q) => store.history(q),
      latest: (d) => store.latest(d),
      deleteDevice: (d) => store.deleteDevice(d),
    };
    return flushing;
  });

  t.test('outage: influxd killed mid-stream; every point arrives exactly once after it is back', async (t) => {
    const { store, inner } = await openBuffered(t, influxd);
    const t0 = Date.now() - 60_000;
    const sent: number[] = [];
    const writeSome = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const seq = sent.length;
        sent.push(seq);
        await store.write([{ deviceId: 'steady', metric: 'seq', ts: t0 + seq, value: seq }]);
        if (seq % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    };
    await writeSome(1000);
    await influxd.kill();
    await writeSome(2000);
    t.equal(store.status().ok, false, 'health shows the store down');
    t.ok((store.status().buffer?.points ?? 0) > 0, 'points wait in the buffer');
    t.same(Object.keys(await store.latest('steady')), ['seq'], 'latest still answers from the buffer');
    await influxd.restart();
    await writeSome(1000);
    await store.flush();
    const got = await values(influxd, inner.database, 'steady');
    t.equal(got.length, sent.length, 'nothing lost, nothing duplicated');
    t.same(got, sent, 'in order, each seq once');
    t.equal(store.status().buffer?.points, 0);
    t.equal(store.status().ok, true);
  });

  t.test('the buffer survives a restart of the hub while the store is down', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'iot-hub-buffer-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const database = `reopen_${++n}`;
    const first = await openBuffered(t, influxd, { dir, database });
    await influxd.kill();
    const pts: TelemetryPoint[] = Array.from({ length: 300 }, (_, i) => ({ deviceId: 'r', metric: 'm', ts: 1_780_000_000_000 + i, value: i }));
    await first.store.write(pts);
    await first.store.close();
    await influxd.restart();
    const second = await openBuffered(t, influxd, { dir, database });
    await second.store.flush();
    t.same(await values(influxd, database, 'r'), pts.map((p) => p.value));
  });

  t.test('type conflict: the good points land, the bad ones are dead-lettered with the reason', async (t) => {
    const { store, inner, dir } = await openBuffered(t, influxd);
    await inner.ensureSchema();
    // Another writer made `value` a string in an old shard: our floats there conflict.
    const oldWeek = Date.UTC(2025, 0, 6);
    const pre = await influxd.write(inner.database, `telemetry,device=other,metric=note value="text" ${oldWeek}`, 'raw');
    t.equal(pre.status, 204);
    const now = Date.now();
    const good = Array.from({ length: 90 }, (_, i) => ({ deviceId: 'mixed', metric: 'm', ts: now - 1000 + i, value: i }));
    const bad = Array.from({ length: 10 }, (_, i) => ({ deviceId: 'mixed', metric: 'm', ts: oldWeek + 1 + i, value: 100 + i }));
    await store.write([...good.slice(0, 40), ...bad, ...good.slice(40)]);
    await store.flush();
    t.same(await values(influxd, inner.database, 'mixed'), good.map((p) => p.value), 'good points stored');
    t.equal(store.deadLettered, 10);
    const file = join(dir, 'dead-letter.jsonl');
    t.ok(existsSync(file));
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { deviceId: string; ts: number; value: number; reason: string });
    t.same(lines.map((l) => l.value), bad.map((p) => p.value));
    t.match(lines[0], { deviceId: 'mixed', metric: 'm', ts: oldWeek + 1, reason: /field type conflict/ });
    t.equal(store.status().buffer?.points, 0, 'nothing left to retry');
  });

  t.test('a full buffer refuses writes (not acknowledged) instead of dropping points', async (t) => {
    const { store } = await openBuffered(t, influxd, { maxBytes: 64 * 1024 });
    await influxd.kill();
    t.teardown(() => influxd.restart());
    let refused: Error | null = null;
    for (let i = 0; i < 200 && !refused; i++) {
      try {
        await store.write(Array.from({ length: 100 }, (_, j) => ({ deviceId: 'flood', metric: 'm', ts: 1_780_000_000_000 + i * 100 + j, value: j })));
      } catch (err) {
        refused = err as Error;
      }
    }
    t.match(refused, { error: 'storage_unavailable', message: /telemetry buffer is full/ });
    t.match(store.status(), { ok: false, buffer: { full: true } });
  });
}
