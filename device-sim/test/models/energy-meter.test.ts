/** Energy meter: a counter that never decreases, power with a daily profile. */
import t from 'tap';
import { EnergyMeter } from '../../src/models/energy-meter.js';
import type { DeviceModel } from '../../src/models/model.js';
import { HOUR, MINUTE, START, run } from './helpers.js';

t.test('deterministic for a seed', async (t) => {
  t.same(run(new EnergyMeter({ seed: 3 }), 12 * HOUR), run(new EnergyMeter({ seed: 3 }), 12 * HOUR));
  t.notSame(run(new EnergyMeter({ seed: 3 }), 12 * HOUR), run(new EnergyMeter({ seed: 4 }), 12 * HOUR));
});

t.test('a day: the counter grows by a plausible household amount, never back; evenings draw more', async (t) => {
  for (const seed of [1, 2, 3]) {
    const samples = run(new EnergyMeter({ seed }), 24 * HOUR + MINUTE, MINUTE);
    const energy = samples.map((s) => s.energy as number);
    t.ok(energy.every((e, i) => i === 0 || e >= (energy[i - 1] as number)), `seed ${seed}: monotonic`);
    const day = (energy.at(-1) as number) - (energy[0] as number);
    t.ok(day > 3 && day < 40, `seed ${seed}: ${day.toFixed(2)} kWh a day`);
    const mean = (from: number, to: number) => {
      const xs = samples.slice(from * 60, to * 60).map((s) => s.power as number);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    t.ok(mean(18, 21) > mean(2, 5), `seed ${seed}: evening ${mean(18, 21).toFixed(0)} W > night ${mean(2, 5).toFixed(0)} W`);
    t.ok(samples.every((s) => (s.power as number) > 0 && (s.power as number) < 17_000), `seed ${seed}: power in range`);
  }
});

t.test('a clock going back adds nothing and takes nothing away', async (t) => {
  const meter = new EnergyMeter({ seed: 1 });
  meter.sample(START + 10 * HOUR);
  const late = meter.sample(START + 11 * HOUR).energy as number;
  t.equal(meter.sample(START).energy, late);
  t.ok((meter.sample(START + 12 * HOUR).energy as number) > late);
});

t.test('tariff state follows the local hour', async (t) => {
  const meter = new EnergyMeter({ seed: 1, utcOffsetHours: 1 });
  meter.sample(START + 12 * HOUR);
  t.same(meter.state(), { tariff: 'peak' });
  meter.sample(START + 21 * HOUR + 30 * MINUTE); // 22:30 local
  t.same(meter.state(), { tariff: 'off-peak' });
  t.equal((meter as DeviceModel).command, undefined, 'a meter takes no commands');
});
