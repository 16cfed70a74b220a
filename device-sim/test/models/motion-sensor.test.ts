/** Motion sensor: events by time of day, a hold time, occupancy as state. */
import t from 'tap';
import { MotionSensor } from '../../src/models/motion-sensor.js';
import { HOUR, MINUTE, START, run } from './helpers.js';

t.test('deterministic for a seed', async (t) => {
  t.same(run(new MotionSensor({ seed: 4 }), 24 * HOUR, MINUTE), run(new MotionSensor({ seed: 4 }), 24 * HOUR, MINUTE));
  t.notSame(run(new MotionSensor({ seed: 4 }), 24 * HOUR, MINUTE), run(new MotionSensor({ seed: 5 }), 24 * HOUR, MINUTE));
});

t.test('a day: more motion in the evening than at night; detections only grow; values plausible', async (t) => {
  for (const seed of [1, 2, 3]) {
    const samples = run(new MotionSensor({ seed }), 24 * HOUR, MINUTE);
    const byHour = (from: number, to: number) => samples.filter((_, i) => i / 60 >= from && i / 60 < to);
    const share = (xs: typeof samples) => xs.filter((s) => s.motion === true).length / xs.length;
    t.ok(share(byHour(18, 22)) > share(byHour(1, 5)), `seed ${seed}: evening ${share(byHour(18, 22))} > night ${share(byHour(1, 5))}`);
    const detections = samples.map((s) => s.detections as number);
    t.ok(detections.every((d, i) => Number.isInteger(d) && (i === 0 || d >= (detections[i - 1] as number))), `seed ${seed}: detections never fall`);
    t.ok((detections.at(-1) as number) > 10, `seed ${seed}: ${detections.at(-1)} detections in a day`);
    t.ok(samples.every((s) => (s.illuminance as number) >= 0 && (s.illuminance as number) < 2000), `seed ${seed}: indoor light`);
    t.ok(byHour(12, 13).some((s) => (s.illuminance as number) > 100) && byHour(2, 3).every((s) => (s.illuminance as number) < 150), `seed ${seed}: bright at noon, dark at night`);
  }
});

t.test('a detection: motion and occupied for the hold time, then clear; set_hold_time changes it', async (t) => {
  const sensor = new MotionSensor({ seed: 9 });
  const night = START + 3 * HOUR; // quiet: the seed has no spontaneous event in these seconds
  sensor.sample(night);
  sensor.trigger(night + 1000);
  t.match(sensor.sample(night + 2000), { motion: true, detections: 1 });
  t.same(sensor.state(), { occupancy: 'occupied', holdSec: 90 });
  t.equal(sensor.sample(night + 60_000).motion, true, 'held for 90 s by default');

  t.same(sensor.command('set_hold_time', { seconds: 10 }), { status: 'succeeded', result: { holdSec: 10 } });
  t.match(sensor.sample(night + 61_000), { motion: false, detections: 1 }, 'the shorter hold time applies at once');
  t.same(sensor.state(), { occupancy: 'clear', holdSec: 10 });
  sensor.trigger(night + 70_000);
  t.match(sensor.sample(night + 79_000), { motion: true, detections: 2 });
  t.match(sensor.sample(night + 80_500), { motion: false, detections: 2 });

  t.same(sensor.command('set_hold_time', { seconds: 5 }), { status: 'failed', error: 'parameter "seconds" must be at least 10' });
  t.same(sensor.command('set_hold_time', {}), { status: 'failed', error: 'missing parameter "seconds"' });
  t.same(sensor.command('dance', {}), { status: 'failed', error: 'unknown command "dance"' });
  t.equal(sensor.state().holdSec, 10, 'refused commands change nothing');
  t.same(sensor.applyDesired({ holdSec: 300 }), {});
  t.equal(sensor.state().holdSec, 300);
  t.same(sensor.applyDesired({ holdSec: 'long', occupancy: 'clear' }), { holdSec: 'must be a whole number (from 10 to 600)', occupancy: 'reported only, not settable' });
  t.equal(sensor.state().holdSec, 300, 'a desired value of the wrong type is refused, not applied');
});

t.test('a clock that goes back does not undo detections', async (t) => {
  const sensor = new MotionSensor({ seed: 1 });
  const late = sensor.sample(START + 20 * HOUR).detections as number;
  sensor.trigger(START + 20 * HOUR + 1);
  t.ok((sensor.sample(START).detections as number) >= late + 1);
});
