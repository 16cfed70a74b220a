import t from 'tap';
import { Random, hashSeed, mulberry32 } from '../src/random.js';

t.test('mulberry32 is deterministic for a seed and differs between seeds', async (t) => {
  const take = (seed: number) => Array.from({ length: 5 }, mulberry32(seed));
  t.same(take(42), take(42));
  t.not(take(42).join(), take(43).join());
  for (const v of take(7)) t.ok(v >= 0 && v < 1, `${v} in [0, 1)`);
});

t.test('hashSeed separates parts, so each device gets its own stream', async (t) => {
  t.equal(hashSeed(1, 'sim-climate-1'), hashSeed(1, 'sim-climate-1'));
  t.not(hashSeed(1, 'sim-climate-1'), hashSeed(2, 'sim-climate-1'));
  t.not(hashSeed(1, 'sim-climate-1'), hashSeed(1, 'sim-climate-2'));
  t.not(hashSeed('ab', 'c'), hashSeed('a', 'bc'));
});

t.test('Random helpers stay in their ranges; normal() has the asked mean and spread', async (t) => {
  const random = new Random(9);
  const ranges = Array.from({ length: 1000 }, () => random.range(-2, 3));
  t.ok(ranges.every((r) => r >= -2 && r < 3), 'range() stays in [min, max)');
  const dice = Array.from({ length: 1000 }, () => random.int(1, 6));
  t.same([...new Set(dice)].sort(), [1, 2, 3, 4, 5, 6], 'int() hits both ends and nothing else');
  const values = Array.from({ length: 20_000 }, () => random.normal(10, 2));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  t.ok(Math.abs(mean - 10) < 0.1, `mean ${mean}`);
  t.ok(Math.abs(sd - 2) < 0.1, `sd ${sd}`);
  t.throws(() => random.pick([]), RangeError);
});
