/**
 * The cluster bus when Redis fails: killed and restarted, cutting a slow
 * subscriber at its output buffer limit, and hanging (SIGSTOP). Publishing
 * never throws or waits, drops are counted, every node that may have
 * missed something is told once, and traffic flows again afterwards.
 */
import t from 'tap';
import { performance } from 'node:perf_hooks';
import { redisForTest, until, type TestNode } from '../helpers/redis.js';

const presence = (deviceId: string) => ({ deviceId, presence: { status: 'online' as const, since: 1, reason: 'connected' as const, transport: 'mqtt' as const }, lastSeen: 1 });
const idsOf = (n: TestNode) => n.events.map((e) => (e.item as { deviceId: string }).deviceId);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('Redis killed and restarted: publishing drops and counts, each node resyncs once, traffic flows again', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const nodes = [redis.node('a'), redis.node('b'), redis.node('c')];
  const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  await Promise.all(nodes.map((n) => n.bus.whenConnected()));
  a.bus.publish('presence', presence('before'));
  await until('before', () => b.events.length === 1 && c.events.length === 1);

  await redis.server.kill();
  await until('a sees Redis gone', () => !a.bus.status().publisher && !a.bus.status().subscriber);
  const started = performance.now();
  for (let i = 0; i < 100; i++) a.bus.publish('presence', presence(`lost${i}`));
  a.bus.send('b', { type: 'deliverCommands', deviceId: 'lost' });
  t.ok(performance.now() - started < 100, 'publishing while Redis is down returns at once');
  t.equal(a.bus.counters.droppedDown, 101, 'every dropped item is counted');
  t.equal(a.bus.counters.publishedMessages, 1);

  await redis.server.restart();
  await Promise.all(nodes.map((n) => n.bus.whenConnected()));
  await until('every node resynced', () => nodes.every((n) => n.resyncs.length > 0));
  a.bus.publish('presence', presence('after'));
  a.bus.send('b', { type: 'deliverCommands', deviceId: 'after' });
  await until('after', () => b.events.length === 2 && c.events.length === 2 && b.inbox.length === 1);
  t.same(idsOf(b), ['before', 'after']);
  t.same(idsOf(c), ['before', 'after']);
  t.same(b.inbox, [{ item: { type: 'deliverCommands', deviceId: 'after' }, from: 'a' }]);
  // The first message after the outage carries a's loss stamp: from before b and c listened again, so no second resync.
  await delay(300);
  for (const n of nodes) {
    t.same(n.resyncs, [{ reason: 'reconnect', kinds: ['inbox', 'presence', 'command'] }], `${n.bus.nodeId} resynced once`);
    t.equal(n.bus.counters.reconnects, 1);
  }
});

t.test('a subscriber cut at the pubsub output buffer limit resyncs; the others are untouched', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const admin = redis.admin();
  const nodes = [redis.node('a'), redis.node('b'), redis.node('c')];
  const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  c.bus.want('telemetry', true);
  await Promise.all(nodes.map((n) => n.bus.whenConnected()));
  const [, numsub] = (await admin.pubsub('NUMSUB', 'iot-hub:events:telemetry')) as [string, number];
  t.equal(numsub, 1, 'only c listens to telemetry');
  const original = ((await admin.config('GET', 'client-output-buffer-limit')) as string[])[1]!;
  await admin.config('SET', 'client-output-buffer-limit', 'pubsub 65536 0 0');
  // About 200 KB in one message: past the 64 KB hard limit whatever c's reading speed.
  for (let i = 0; i < 200; i++) a.bus.publish('telemetry', { deviceId: `d${i}-${'x'.repeat(1000)}`, ts: i, metrics: { t: i } });
  await until('c resynced', () => c.resyncs.length === 1);
  await admin.config('SET', 'client-output-buffer-limit', original);
  await c.bus.whenConnected();
  t.same(c.resyncs, [{ reason: 'reconnect', kinds: ['inbox', 'presence', 'command', 'telemetry'] }]);
  t.same(c.events, [], 'the cut message never arrived');
  a.bus.publish('telemetry', { deviceId: 'after', ts: 1, metrics: { t: 1 } });
  a.bus.publish('presence', presence('after'));
  await until('after', () => c.events.length === 2 && b.events.length === 1);
  t.same(
    c.events.map((e) => e.kind),
    ['telemetry', 'presence'],
  );
  await delay(200);
  t.same(a.resyncs, []);
  t.same(b.resyncs, []);
  t.equal(c.resyncs.length, 1);
});

t.test('Redis hung: unanswered publishes are capped, the loss reaches receivers as a gap', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const a = redis.node('a', { limits: { maxInFlightBytes: 64 * 1024 } });
  // A long ping interval: this test is about the sender, not the stall detector.
  const b = redis.node('b', { pingIntervalMs: 60_000 });
  await Promise.all([a, b].map((n) => n.bus.whenConnected()));
  redis.server.pause(true);
  t.teardown(() => redis.server.pause(false));
  // 20 turns of 100 items (about 12 KB each): some wait for Redis, the rest are dropped.
  for (let turn = 0; turn < 20; turn++) {
    for (let i = 0; i < 100; i++) a.bus.publish('presence', presence(`t${turn}-${i}`));
    await new Promise((r) => setImmediate(r));
  }
  const sent = a.bus.counters.publishedItems;
  t.equal(sent + a.bus.counters.droppedBacklog, 2000, 'every item was sent or counted as dropped');
  t.ok(a.bus.counters.droppedBacklog >= 1000, `most were dropped (${a.bus.counters.droppedBacklog})`);
  t.ok(a.bus.status().backlogBytes <= 64 * 1024, 'what waits for Redis stays under the bound');
  redis.server.pause(false);
  await until('the sent items', () => b.events.length === sent);
  t.same(b.resyncs, [], 'nothing known missing yet');
  a.bus.publish('presence', presence('after'));
  await until('after', () => b.events.length === sent + 1);
  await until('a resync', () => b.resyncs.length === 1);
  t.same(b.resyncs, [{ reason: 'gap', kinds: ['presence'] }]);
  t.ok(b.bus.counters.missedMessages > 0, 'the skipped seqs are counted');
  t.equal(a.bus.status().backlogBytes, 0);
});

t.test('a subscriber whose ping goes unanswered reconnects and resyncs once Redis answers', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const b = redis.node('b', { pingIntervalMs: 100 });
  await b.bus.whenConnected();
  redis.server.pause(true);
  t.teardown(() => redis.server.pause(false));
  await until('the stall is noticed', () => b.bus.counters.stalls === 1);
  redis.server.pause(false);
  await until('resync', () => b.resyncs.length === 1);
  t.same(b.resyncs, [{ reason: 'reconnect', kinds: ['inbox', 'presence', 'command'] }]);
  await delay(300);
  t.equal(b.bus.counters.stalls, 1);
  t.equal(b.resyncs.length, 1);
});
