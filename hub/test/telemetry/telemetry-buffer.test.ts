/**
 * The durable buffer's own file: segments of line protocol, batches that end
 * on segment boundaries, deleting one device's lines, and the one-time
 * conversion of buffers written by older hubs (one row per point).
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TelemetryBuffer, type BufferedBatch } from '../../src/telemetry/buffer/telemetry-buffer.js';
import { parsePointLine, pointLine } from '../../src/telemetry/influx/influx-schema.js';
import type { TelemetryPoint } from '../../src/telemetry/telemetry-store.js';

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-tbuf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'influx-buffer.db');
}

async function open(file: string): Promise<TelemetryBuffer> {
  const buffer = new TelemetryBuffer({ file, maxBytes: 64 * 1024 * 1024 });
  buffer.open();
  t.teardown(() => buffer.close());
  return buffer;
}

function pointsOf(batch: BufferedBatch | null): TelemetryPoint[] {
  if (!batch) return [];
  return batch.segments.flatMap((s) => s.split('\n')).map((line) => {
    const p = parsePointLine(line);
    if (!p) throw new Error(`not a point line: ${line}`);
    return p;
  });
}

const points = (device: string, n: number, from = 1_780_000_000_000): TelemetryPoint[] =>
  Array.from({ length: n }, (_, i) => ({ deviceId: device, metric: i % 2 ? 'humidity' : 'temperature', ts: from + i, value: i + 0.5 }));

t.test('a point survives the line format, special characters included', async (t) => {
  const odd = { deviceId: 'a b,c=d\\e', metric: 'x y', value: -1.25e-7, ts: 1_780_000_000_123 };
  t.same(parsePointLine(pointLine(odd.deviceId, odd.metric, odd.value, odd.ts)), odd);
  t.equal(pointLine('plug-1', 'power', 12, 5), 'telemetry,device=plug-1,metric=power value=12 5');
  t.equal(parsePointLine('weather,device=x,metric=y value=1 2'), null, 'another measurement is not ours');
  t.equal(parsePointLine('telemetry,device=x,metric=y value=NaN 2'), null);
});

t.test('appends keep their order; a batch ends on a segment boundary once it holds enough points', async (t) => {
  const buffer = await open(tempFile());
  buffer.append(points('a', 30));
  buffer.append(points('b', 30));
  buffer.append(points('c', 30));
  t.equal(buffer.count, 90);
  const first = buffer.read(0, 40);
  t.equal(first?.points, 60, 'two segments: the first alone holds fewer than 40');
  t.same(pointsOf(first), [...points('a', 30), ...points('b', 30)]);
  const rest = buffer.read(first!.lastId, 40);
  t.same(pointsOf(rest), points('c', 30));
  t.equal(buffer.read(rest!.lastId, 40), null);
  buffer.remove(first!.firstId, first!.lastId);
  t.equal(buffer.count, 30);
  t.equal(buffer.minId(), rest!.firstId);
});

t.test('deleting a device drops its lines and keeps the others in place', async (t) => {
  const buffer = await open(tempFile());
  const mixed = points('a', 10).flatMap((p, i) => [p, points('ab', 10)[i]!]);
  buffer.append(mixed);
  buffer.append(points('a', 5));
  buffer.removeDevice('a');
  t.equal(buffer.count, 10);
  t.same(pointsOf(buffer.read(0, 1000)), points('ab', 10), 'device "ab" is not taken for "a"');
  t.same([...buffer.latestBySeries().keys()], ['ab']);
});

t.test('a buffer written by an older hub (one row per point) is converted in order, nothing lost', async (t) => {
  const file = tempFile();
  const old = new Database(file);
  old.exec('CREATE TABLE buffer (id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL)');
  const before = [...points('old-1', 6000), ...points('old-2', 7)];
  const insert = old.prepare('INSERT INTO buffer (device, metric, ts, value) VALUES (?, ?, ?, ?)');
  old.transaction(() => {
    for (const p of before) insert.run(p.deviceId, p.metric, p.ts, p.value);
  })();
  old.close();

  const buffer = await open(file);
  t.equal(buffer.count, before.length);
  t.same(pointsOf(buffer.read(0, Infinity)), before);
  t.same(buffer.latestBySeries().get('old-2'), { temperature: { ts: before.at(-1)!.ts, value: 6.5 }, humidity: { ts: before.at(-2)!.ts, value: 5.5 } });
  await buffer.close();
  const check = new Database(file, { readonly: true });
  t.teardown(() => check.close());
  t.equal((check.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'buffer'").get() as { n: number }).n, 0, 'the old table is gone');
});

t.test('deleting a device reaches every segment of a long backlog', async (t) => {
  const buffer = await open(tempFile());
  for (let i = 0; i < 150; i++) buffer.append(points(i % 2 ? 'keep' : 'gone', 3, 1_780_000_000_000 + i * 10));
  buffer.removeDevice('gone');
  t.equal(buffer.count, 75 * 3);
  const left = pointsOf(buffer.read(0, Infinity));
  t.equal(left.length, 225);
  t.ok(left.every((p) => p.deviceId === 'keep'), 'nothing of the deleted device is left, even past the first page');
});
