/**
 * The cluster bus on a real Redis with three nodes: inboxes reach one node,
 * events reach every other node, a turn's items go out in few PUBLISHes,
 * heavy kinds are listened to only while wanted, and a sender's missing
 * messages are seen as gaps.
 */
import t from 'tap';
import { publishCalls, redisForTest, until } from '../helpers/redis.js';

const presence = (deviceId: string) => ({ deviceId, presence: { status: 'online' as const, since: 1, reason: 'connected' as const, transport: 'mqtt' as const }, lastSeen: 1 });

t.test('an inbox message reaches only its node; an event reaches every other node', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const [a, b, c] = [redis.node('a'), redis.node('b'), redis.node('c')];
  await Promise.all([a, b, c].map((n) => n.bus.whenConnected()));
  a.bus.send('b', { type: 'deliverCommands', deviceId: 'd1' });
  a.bus.send('c', { type: 'kick', deviceId: 'd2', belowEpoch: 7 });
  a.bus.send('a', { type: 'desiredChanged', deviceId: 'd3' });
  b.bus.publish('presence', presence('d4'));
  await until('deliveries', () => a.inbox.length + b.inbox.length + c.inbox.length === 3 && a.events.length + c.events.length === 2);
  await new Promise((r) => setTimeout(r, 100));
  t.same(b.inbox, [{ item: { type: 'deliverCommands', deviceId: 'd1' }, from: 'a' }]);
  t.same(c.inbox, [{ item: { type: 'kick', deviceId: 'd2', belowEpoch: 7 }, from: 'a' }]);
  t.same(a.inbox, [{ item: { type: 'desiredChanged', deviceId: 'd3' }, from: 'a' }], 'a node may write to its own inbox');
  t.same(a.events, [{ kind: 'presence', item: presence('d4'), from: 'b' }]);
  t.same(c.events, a.events);
  t.same(b.events, [], 'the sender does not get its own event back');
  t.equal(b.bus.counters.ownSkipped, 1);
  for (const n of [a, b, c]) t.same(n.resyncs, [], 'no resync on a healthy bus');
});

t.test('echo: a node that asks for it gets its own events', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const a = redis.node('a', { echo: true });
  await a.bus.whenConnected();
  a.bus.publish('command', { command: { id: 'c1' } } as never);
  await until('echo', () => a.events.length === 1);
  t.same(a.events, [{ kind: 'command', item: { command: { id: 'c1' } }, from: 'a' }]);
});

t.test('10,000 items in one turn go out as 10 PUBLISHes and arrive in order', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const admin = redis.admin();
  const [a, b, c] = [redis.node('a'), redis.node('b'), redis.node('c')];
  await Promise.all([a, b, c].map((n) => n.bus.whenConnected()));
  await admin.config('RESETSTAT');
  for (let i = 0; i < 10_000; i++) a.bus.publish('presence', presence(`d${i}`));
  await until('10,000 items on b and c', () => b.events.length === 10_000 && c.events.length === 10_000);
  t.equal(a.bus.counters.publishedMessages, 10, 'the bus counted 10 messages');
  t.equal(a.bus.counters.publishedItems, 10_000);
  t.equal(await publishCalls(admin), 10, 'Redis counted 10 PUBLISH calls');
  t.equal(b.bus.counters.receivedMessages, 10);
  t.equal(b.bus.counters.receivedItems, 10_000);
  t.same(
    b.events.map((e) => (e.item as { deviceId: string }).deviceId),
    Array.from({ length: 10_000 }, (_, i) => `d${i}`),
    'in order',
  );
  t.same(b.resyncs, []);
});

t.test('a batch is split at the byte bound; an item too large for a message is dropped and reported as a gap', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const limits = { maxMessageBytes: 16 * 1024 };
  const [a, b] = [redis.node('a', { limits }), redis.node('b', { limits })];
  await Promise.all([a, b].map((n) => n.bus.whenConnected()));
  // Each item serialises to 1,000 bytes + a comma: 15 fit in 16 KiB less the 256-byte head reserve.
  const item = (i: number) => ({ command: { id: String(i).padStart(4, '0'), pad: 'x'.repeat(1000 - 34) } });
  t.equal(JSON.stringify(item(0)).length, 1000);
  for (let i = 0; i < 100; i++) a.bus.publish('command', item(i) as never);
  await until('100 items', () => b.events.length === 100);
  t.equal(a.bus.counters.publishedMessages, 7, '100 items of 1,000 bytes in messages of 15');
  t.same(b.resyncs, []);
  a.bus.publish('command', { command: { id: 'big', pad: 'x'.repeat(20_000) } } as never);
  a.bus.publish('command', item(100) as never);
  await until('the next item', () => b.events.length === 101);
  t.equal(a.bus.counters.droppedUnsendable, 1);
  await until('a resync', () => b.resyncs.length === 1);
  t.same(b.resyncs, [{ reason: 'gap', kinds: ['command'] }], 'the receiver knows it missed something');
});

t.test('telemetry is listened to only while wanted; exact channels, no patterns', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const admin = redis.admin();
  const [a, b] = [redis.node('a'), redis.node('b')];
  await Promise.all([a, b].map((n) => n.bus.whenConnected()));
  const numsub = async () => (await admin.pubsub('NUMSUB', 'iot-hub:events:telemetry'))[1];
  t.equal(await numsub(), 0);
  a.bus.publish('telemetry', { deviceId: 'd1', ts: 1, metrics: { t: 1 } });
  // Published (at the end of the turn) before b listens.
  await untilAsync(async () => a.bus.counters.publishedMessages === 1);
  await new Promise((r) => setTimeout(r, 50));
  b.bus.want('telemetry', true);
  await untilAsync(async () => (await numsub()) === 1);
  a.bus.publish('telemetry', { deviceId: 'd1', ts: 2, metrics: { t: 2 } });
  await until('telemetry on b', () => b.events.length === 1);
  t.same(b.events, [{ kind: 'telemetry', item: { deviceId: 'd1', ts: 2, metrics: { t: 2 } }, from: 'a' }], 'only what was sent while wanted');
  t.ok(b.bus.wants('telemetry'));
  b.bus.want('telemetry', false);
  await untilAsync(async () => (await numsub()) === 0);
  a.bus.publish('telemetry', { deviceId: 'd1', ts: 3, metrics: { t: 3 } });
  a.bus.publish('presence', presence('d1'));
  await until('presence on b', () => b.events.length === 2);
  t.same(b.events[1]!.kind, 'presence', 'telemetry sent after want(off) did not arrive');
  t.equal(await admin.pubsub('NUMPAT'), 0, 'no pattern subscription');
  const channels = ((await admin.pubsub('CHANNELS')) as string[]).sort();
  t.same(channels, ['iot-hub:events:command', 'iot-hub:events:presence', 'iot-hub:node:a:inbox', 'iot-hub:node:b:inbox']);
  t.same(b.resyncs, []);
});

t.test('want() before the connection is up subscribes once it is', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const admin = redis.admin();
  const c = redis.node('c');
  c.bus.want('telemetry', true);
  c.bus.want('message', true);
  c.bus.want('message', false);
  await c.bus.whenConnected();
  t.same(await admin.pubsub('NUMSUB', 'iot-hub:events:telemetry', 'iot-hub:events:message'), ['iot-hub:events:telemetry', 1, 'iot-hub:events:message', 0]);
});

t.test('gaps: a skipped seq, a restart that lost its first messages, a new loss stamp', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const admin = redis.admin();
  const b = redis.node('b');
  await b.bus.whenConnected();
  const ch = 'iot-hub:events:presence';
  let sent = 0;
  // Sends one hand-made envelope and checks how many resyncs the node has asked for since the start.
  const step = async (e: object, resyncs: number, what: string) => {
    await admin.publish(ch, JSON.stringify({ ...e, items: [presence('d')] }));
    sent += 1;
    await until(what, () => b.events.length === sent);
    await new Promise((r) => setTimeout(r, 20));
    t.equal(b.resyncs.length, resyncs, what);
  };
  await step({ from: 'x', boot: 'b1', seq: 5 }, 0, 'a sender first seen mid-stream is no gap');
  await step({ from: 'x', boot: 'b1', seq: 6 }, 0, 'the next seq is no gap');
  await step({ from: 'x', boot: 'b1', seq: 9 }, 1, 'two messages skipped: a gap');
  t.equal(b.bus.counters.missedMessages, 2);
  await step({ from: 'x', boot: 'b2', seq: 1 }, 1, 'a restarted sender starting at 1 is no gap');
  await step({ from: 'x', boot: 'b3', seq: 3 }, 2, 'a restarted sender whose first messages are missing: a gap');
  await step({ from: 'y', boot: 'c1', seq: 1, lost: Date.now() - 60_000 }, 2, 'a loss from before we listened is covered by the last resync');
  await step({ from: 'y', boot: 'c1', seq: 2, lost: Date.now() - 50_000 }, 3, 'a loss stamp not seen before: a gap');
  await step({ from: 'z', boot: 'd1', seq: 1, lost: Date.now() + 1_000 }, 4, 'a new sender lost something after we listened: a gap');
  t.same(b.resyncs[0], { reason: 'gap', kinds: ['presence'] });
  await admin.publish(ch, 'not json');
  await admin.publish(ch, JSON.stringify({ from: 'x', seq: 'one', items: [] }));
  await until('malformed counted', () => b.bus.counters.malformed === 2);
  t.equal(b.bus.counters.gaps, 4);
});

t.test('a handler that throws is counted; the rest of the batch is delivered', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const got: string[] = [];
  const a = redis.node('a');
  const b = redis.node('b', {
    onEvent: (_kind, item) => {
      const id = (item as { deviceId: string }).deviceId;
      if (id === 'bad') throw new Error('boom');
      got.push(id);
    },
  });
  await Promise.all([a, b].map((n) => n.bus.whenConnected()));
  for (const id of ['d1', 'bad', 'd2']) a.bus.publish('presence', presence(id));
  await until('both good items', () => got.length === 2);
  t.same(got, ['d1', 'd2']);
  t.equal(b.bus.counters.handlerErrors, 1);
});

t.test('a node id that cannot be part of a channel name is refused', async (t) => {
  const { ClusterBus } = await import('../../src/cluster/bus/cluster-bus.js');
  const pino = (await import('pino')).default;
  t.throws(() => new ClusterBus({ redisUrl: 'redis://127.0.0.1:1', nodeId: 'a b', log: pino({ level: 'silent' }) }), {
    message: 'node id "a b" must be 1-64 letters, digits, ".", "_" or "-"',
  });
  t.throws(() => new ClusterBus({ redisUrl: 'redis://127.0.0.1:1', nodeId: 'a', listen: ['x*'] as never, log: pino({ level: 'silent' }) }), {
    message: 'event kind "x*" must be 1-64 letters, digits, ".", "_" or "-"',
  });
});

async function untilAsync(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('/metrics reads the bus counters and connection states', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const { Registry } = await import('prom-client');
  const { registerBusMetrics } = await import('../../src/cluster/bus/bus-metrics.js');
  const [a, b] = [redis.node('a'), redis.node('b')];
  await Promise.all([a, b].map((n) => n.bus.whenConnected()));
  const registry = new Registry();
  registerBusMetrics(registry, b.bus);
  for (let i = 0; i < 3; i++) a.bus.publish('presence', presence(`d${i}`));
  await until('3 items', () => b.events.length === 3);
  b.bus.publish('command', { command: { id: 'x', big: 1n } } as never);
  await new Promise((r) => setImmediate(r));
  const text = await registry.metrics();
  t.match(text, /\niot_hub_bus_received_messages_total 1\n/);
  t.match(text, /\niot_hub_bus_received_items_total 3\n/);
  t.match(text, /\niot_hub_bus_dropped_items_total\{reason="unsendable"\} 1\n/);
  t.match(text, /\niot_hub_bus_dropped_items_total\{reason="down"\} 0\n/);
  t.match(text, /\niot_hub_bus_connected\{connection="publisher"\} 1\n/);
  t.match(text, /\niot_hub_bus_connected\{connection="subscriber"\} 1\n/);
  t.match(text, /\niot_hub_bus_backlog_bytes 0\n/);
});

t.test('telemetry lingers: many turns go out in one PUBLISH; while no node listens nothing is sent, and a listener hears it within the probe', async (t) => {
  const redis = await redisForTest(t);
  if (!redis) return;
  const limits = { lingerMs: 200, idleProbeMs: 500 };
  const [a, b] = [redis.node('a', { limits, linger: ['telemetry'] }), redis.node('b', { limits })];
  await Promise.all([a, b].map((n) => n.bus.whenConnected()));
  const reading = (i: number) => ({ deviceId: `d${i}`, ts: i, metrics: { t: i } });

  // Nobody listens: the first PUBLISH finds no subscriber, then the channel is skipped.
  a.bus.publish('telemetry', reading(0));
  await until('the first PUBLISH', () => a.bus.counters.publishedMessages === 1);
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 1; i <= 20; i++) a.bus.publish('telemetry', reading(i));
  t.equal(a.bus.counters.skippedUnheard, 20, 'nothing sent while nobody listens');
  t.equal(a.bus.counters.publishedMessages, 1);

  // b listens; after the probe interval a's telemetry reaches it, items of many turns in one PUBLISH.
  b.bus.want('telemetry', true);
  await new Promise((r) => setTimeout(r, 600));
  const before = a.bus.counters.publishedMessages;
  for (let i = 0; i < 5; i++) {
    a.bus.publish('telemetry', reading(100 + i));
    await new Promise((r) => setImmediate(r));
  }
  await until('five readings on b', () => b.events.filter((e) => e.kind === 'telemetry').length === 5);
  t.equal(a.bus.counters.publishedMessages - before, 1, 'five turns, one PUBLISH');
  t.same(b.resyncs, [], 'skipped items leave no gap');
});
