/**
 * The core without a transport: a real registry and SQLite store, a
 * recording DeviceLink in place of a socket, and a store wrapper that fails
 * on demand, because a real disk failure cannot be made to order here.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ProtocolError, type HubMessage, type TelemetryMessage } from '@iot-hub/protocol';
import { DeviceGateway } from '../../src/core/device-gateway.js';
import type { CloseReason, DeviceLink } from '../../src/core/device-link.js';
import { EventBus } from '../../src/events/event-bus.js';
import { Registry } from '../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../src/registry/sqlite-registry-store.js';
import { TelemetryPipeline } from '../../src/telemetry/pipeline.js';
import { SqliteTelemetryStore } from '../../src/telemetry/sqlite-telemetry-store.js';
import type { TelemetryPoint, TelemetryStore } from '../../src/telemetry/telemetry-store.js';

class RecordingLink implements DeviceLink {
  readonly transport = 'mqtt' as const;
  sent: HubMessage[] = [];
  closed: CloseReason[] = [];
  send(message: HubMessage): void {
    this.sent.push(message);
  }
  close(reason: CloseReason): void {
    this.closed.push(reason);
  }
}

/**
 * Delegates to the real store; `failNext` makes the next write throw as a
 * full disk would, and `hold()` keeps writes waiting (a slow disk) until
 * the function it returns is called.
 */
class FlakyStore {
  failNext = 0;
  private held: Promise<void> | null = null;
  constructor(readonly inner: TelemetryStore) {}
  hold(): () => void {
    let release = (): void => {};
    this.held = new Promise((resolve) => (release = resolve));
    return () => {
      this.held = null;
      release();
    };
  }
  wrap(): TelemetryStore {
    return Object.assign(Object.create(this.inner) as TelemetryStore, {
      write: async (points: readonly TelemetryPoint[]) => {
        if (this.held) await this.held;
        if (this.failNext > 0) {
          this.failNext -= 1;
          throw new Error('SQLITE_FULL: database or disk is full');
        }
        return this.inner.write(points);
      },
    });
  }
}

async function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-core-'));
  const log = pino({ level: 'silent' });
  const telemetry = new SqliteTelemetryStore({ file: join(dir, 'telemetry.db') });
  const registryStore = new SqliteRegistryStore(join(dir, 'registry.db'));
  await telemetry.open();
  await registryStore.open();
  const flaky = new FlakyStore(telemetry);
  const events = new EventBus();
  const registry = new Registry(registryStore, telemetry, events, log);
  await registry.start();
  const pipeline = new TelemetryPipeline(flaky.wrap(), log);
  // Commands and state have their own tests; here they only need to exist.
  const commands = { deviceReady: () => {}, result: () => Promise.resolve() };
  const state = { deviceReady: () => {}, reported: () => Promise.resolve() };
  const gateway = new DeviceGateway({ registry, pipeline, events, commands, state, log });
  t.teardown(async () => {
    await pipeline.stop();
    await registry.stop();
    await registryStore.close();
    await telemetry.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { entry } = await registry.provision({ id: 'dev', kind: 'sensor' });
  const link = new RecordingLink();
  const session = gateway.open(entry, link);
  const stored = async () => (await telemetry.history({ deviceId: 'dev', metrics: null, from: 0, to: Date.now() + 60_000, maxPoints: 1000 })).series[0]?.points.map((p) => p.avg) ?? [];
  const live: { ts: number; metrics: Record<string, unknown> }[] = [];
  events.on(live, 'telemetry', (e) => live.push({ ts: e.ts, metrics: e.metrics }));
  return { session, link, flaky, stored, entry, live };
}

const reading = (seq: number, v: number): TelemetryMessage => ({ type: 'telemetry', seq, metrics: { v } });

t.test('a write that fails is not acknowledged, and its resend is stored, not taken for a duplicate', async (t) => {
  const { session, flaky, stored, entry } = await setup(t);
  flaky.failNext = 1;
  const failure = await session.handle(reading(1, 10)).then(() => null, (err: unknown) => err);
  t.match(failure, { error: 'storage_unavailable', status: 503 }, 'rejected as storage_unavailable');
  t.same(await stored(), [], 'nothing stored');
  await session.handle(reading(1, 10));
  t.same(await stored(), [10], 'the resend is stored');
  t.equal(entry.stats.duplicates, 0);
});

t.test('a reading goes live as it arrives, while its write is still in flight', async (t) => {
  const { session, flaky, stored, live, entry } = await setup(t);
  const release = flaky.hold();
  let acknowledged = false;
  const handled = session.handle(reading(1, 7)).then(() => (acknowledged = true));
  await new Promise((resolve) => setImmediate(resolve)); // the pipeline's turn: its write is now held
  t.match(live, [{ metrics: { v: 7 } }], 'the live feed has it');
  t.match(entry.latest.get('v'), { value: 7 }, 'so do the latest values');
  t.equal(acknowledged, false, 'not acknowledged before it is stored');
  t.same(await stored(), [], 'not stored yet');
  release();
  await handled;
  t.same(await stored(), [7], 'stored once released, then acknowledged');
});

t.test('a reading whose write fails was live once, and its resend goes live and is stored', async (t) => {
  const { session, flaky, stored, live } = await setup(t);
  flaky.failNext = 1;
  await t.rejects(session.handle(reading(1, 3)), ProtocolError);
  await session.handle(reading(1, 3));
  t.equal(live.length, 2, 'seen live at each arrival');
  t.same(await stored(), [3], 'stored once');
});

t.test('a duplicate of a message still being written is acknowledged only with it', async (t) => {
  const { session, flaky, stored, entry } = await setup(t);
  flaky.failNext = 1;
  const original = session.handle(reading(5, 50));
  const duplicate = session.handle(reading(5, 50));
  await t.rejects(original, ProtocolError);
  await t.rejects(duplicate, ProtocolError, 'the duplicate fails with its original');
  t.equal(entry.stats.duplicates, 1);
  await session.handle(reading(5, 50));
  t.same(await stored(), [50]);
});

t.test('protocol errors are sent to the device and the tenth closes the connection', async (t) => {
  const { session, link } = await setup(t);
  for (let i = 0; i < 9; i++) session.fail(new ProtocolError('bad_json', 'x'), { ref: i });
  t.equal(link.closed.length, 0);
  t.match(link.sent[0], { type: 'error', code: 400, error: 'bad_json', ref: 0 });
  session.fail(new ProtocolError('bad_json'));
  t.same(link.closed, ['too-many-errors']);
  t.match(link.sent.at(-1), { error: 'too_many_errors', code: 429 });
});

t.test('storage errors are reported to the device but do not count against it', async (t) => {
  const { session, link } = await setup(t);
  for (let i = 0; i < 20; i++) session.fail(new ProtocolError('storage_unavailable'));
  t.equal(link.closed.length, 0);
  t.equal(link.sent.length, 20);
});
