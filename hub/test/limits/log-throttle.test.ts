/** The log throttle's windows and bound, and log-safe's cutting, without a hub. */
import t from 'tap';
import { LogThrottle, OVERFLOW_SOURCE } from '../../src/limits/log-throttle.js';
import { clip, clipFields } from '../../src/log-safe.js';

t.test('a source gets linesPerWindow lines a window; the rest are summed up when the window ends', async (t) => {
  const summaries: [string, number][] = [];
  const throttle = new LogThrottle({ linesPerWindow: 3, windowMs: 1000 });
  throttle.setWriter((source, n) => summaries.push([source, n]));
  const admitted = Array.from({ length: 10 }, (_, i) => throttle.admit('device a', i));
  t.same(admitted, [true, true, true, false, false, false, false, false, false, false]);
  t.ok(throttle.admit('device b', 5), 'another source has its own budget');
  t.ok(throttle.admit('device a', 1000), 'a new window');
  t.same(summaries, [['device a', 7]], 'the old window summed up');
  t.equal(throttle.counters.suppressed, 7);
  throttle.stop();
  t.same(summaries, [['device a', 7]], 'nothing more to say at stop');
});

t.test('sources are bounded: past maxSources, new ones share one budget', async (t) => {
  const throttle = new LogThrottle({ linesPerWindow: 1, windowMs: 1000, maxSources: 2 });
  const summaries: [string, number][] = [];
  throttle.setWriter((source, n) => summaries.push([source, n]));
  t.ok(throttle.admit('a', 0));
  t.ok(throttle.admit('b', 0));
  t.ok(throttle.admit('c', 0), 'the first of the rest');
  t.notOk(throttle.admit('d', 0), 'shares that budget');
  throttle.stop();
  t.same(summaries, [[OVERFLOW_SOURCE, 1]]);
});

t.test('0 = no cap', async (t) => {
  const throttle = new LogThrottle({ linesPerWindow: 0, windowMs: 1000 });
  for (let i = 0; i < 1000; i++) if (!throttle.admit('a', 0)) t.fail('held back');
  t.equal(throttle.counters.suppressed, 0);
});

t.test('clip and clipFields cut outsider strings, keep structure, never split a pair or trust a key', async (t) => {
  t.equal(clip('abc', 5), 'abc');
  t.equal(clip('abcdefgh', 5), 'abcde…(+3 chars)');
  t.equal(clip('abcd🌡x', 5), 'abcd…(+3 chars)', 'the pair is left out whole');
  const fields = clipFields({ topic: 'x'.repeat(65_000), n: 5, nested: { origin: 'o'.repeat(300) }, list: Array.from({ length: 60 }, () => 'v') });
  t.equal(fields.topic, `${'x'.repeat(200)}…(+64800 chars)`);
  t.equal(fields.n, 5);
  t.equal((fields.nested as { origin: string }).origin.length, 200 + '…(+100 chars)'.length);
  t.equal((fields.list as unknown[]).length, 51);
  const tricky = clipFields(JSON.parse('{"__proto__": {"polluted": 1}}') as Record<string, unknown>);
  t.ok(Object.hasOwn(tricky, '__proto__'), '__proto__ stays a field');
  t.equal(({} as { polluted?: number }).polluted, undefined);
});
