import t from 'tap';
import pino from 'pino';
import { TelemetryPipeline } from '../../src/telemetry/pipeline.js';
import type { TelemetryPoint, TelemetryStore } from '../../src/telemetry/telemetry-store.js';

/**
 * A store whose writes finish when the test says so: it records each write
 * and holds it open. Not a stand-in for a real store (those have their own
 * tests): it is how the pipeline's batching and flight limit are observed.
 */
class HeldStore implements TelemetryStore {
  readonly kind = 'held';
  readonly writes: { points: readonly TelemetryPoint[]; finish: (err?: Error) => void }[] = [];
  constructor(readonly orderedWrites?: number) {}
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  write(points: readonly TelemetryPoint[]): Promise<void> {
    return new Promise((resolve, reject) => this.writes.push({ points, finish: (err) => (err ? reject(err) : resolve()) }));
  }
  async history(): Promise<never> {
    throw new Error('not used');
  }
  async latest(): Promise<Record<string, never>> {
    return {};
  }
  async deleteDevice(): Promise<void> {}
}

const point = (value: number): TelemetryPoint => ({ deviceId: 'd', metric: 'm', ts: 1000 + value, value });
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('points appended in one turn go out as one write; a later turn waits for it when the store takes one at a time', async (t) => {
  const store = new HeldStore();
  const pipeline = new TelemetryPipeline(store, pino({ level: 'silent' }));
  const first = [pipeline.append([point(1)]), pipeline.append([point(2), point(3)])];
  await turn();
  t.equal(store.writes.length, 1, 'one write for the turn');
  t.same(store.writes[0]?.points.map((p) => p.value), [1, 2, 3]);
  const second = pipeline.append([point(4)]);
  await turn();
  await turn();
  t.equal(store.writes.length, 1, 'the next batch waits for the write in flight');
  store.writes[0]?.finish();
  await Promise.all(first);
  await turn();
  t.equal(store.writes.length, 2, 'and goes out once it is done');
  store.writes[1]?.finish();
  await second;
  await pipeline.stop();
});

t.test('a store that applies writes in order gets up to orderedWrites batches in flight, each acknowledged on its own', async (t) => {
  const store = new HeldStore(2);
  const pipeline = new TelemetryPipeline(store, pino({ level: 'silent' }));
  const a = pipeline.append([point(1)]);
  await turn();
  const b = pipeline.append([point(2)]);
  await turn();
  const c = pipeline.append([point(3)]);
  await turn();
  await turn();
  t.equal(store.writes.length, 2, 'two in flight, the third batch waits');
  let bDone = false;
  void b.then(() => (bDone = true));
  store.writes[0]?.finish(new Error('disk full'));
  await t.rejects(a, /disk full/, 'the failed batch is refused');
  t.notOk(bDone, 'the other batch is not acknowledged with it');
  await turn();
  t.equal(store.writes.length, 3, 'the waiting batch goes out when one finishes');
  store.writes[1]?.finish();
  store.writes[2]?.finish();
  await t.resolves(b);
  await t.resolves(c);
  await pipeline.stop();
});

t.test('stop() waits for every write in flight and writes what is pending', async (t) => {
  const store = new HeldStore(2);
  const pipeline = new TelemetryPipeline(store, pino({ level: 'silent' }));
  const a = pipeline.append([point(1)]);
  await turn();
  const b = pipeline.append([point(2)]);
  let stopped = false;
  const stopping = pipeline.stop().then(() => (stopped = true));
  await turn();
  t.notOk(stopped, 'not while a write is in flight');
  for (let i = 0; i < 5 && store.writes.length < 2; i++) await turn();
  t.equal(store.writes.length, 2, 'the pending batch went out beside the one in flight');
  for (const w of store.writes) w.finish();
  await stopping;
  await Promise.all([a, b]);
  t.same(store.writes.flatMap((w) => w.points.map((p) => p.value)).sort(), [1, 2], 'both batches written');
  await t.rejects(pipeline.append([point(3)]), /shutting down/);
});
