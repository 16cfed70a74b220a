/** Thermostat: the room moves toward the target; mode and target by command or desired state. */
import t from 'tap';
import { ECO_SETBACK_C, FROST_PROTECTION_C, Thermostat } from '../../src/models/thermostat.js';
import { HOUR, MINUTE, START } from './helpers.js';

function after(thermostat: Thermostat, fromMs: number, spanMs: number) {
  let last = thermostat.sample(fromMs);
  for (let t = fromMs + 5 * MINUTE; t <= fromMs + spanMs; t += 5 * MINUTE) last = thermostat.sample(t);
  return last;
}

t.test('deterministic for a seed', async (t) => {
  const a = new Thermostat({ seed: 2 });
  const b = new Thermostat({ seed: 2 });
  t.same(after(a, START, 6 * HOUR), after(b, START, 6 * HOUR));
  t.same(a.state(), b.state());
});

t.test('the room settles around the target, heating on and off', async (t) => {
  for (const seed of [1, 2, 3]) {
    const th = new Thermostat({ seed });
    const target = th.state().target as number;
    t.ok(target >= 20 && target <= 22, `seed ${seed}: target ${target}`);
    const readings: { temperature: number; heating: boolean }[] = [];
    for (let i = 0; i < 24 * 12; i++) readings.push(th.sample(START + 6 * HOUR + i * 5 * MINUTE) as { temperature: number; heating: boolean });
    const settled = readings.slice(12 * 3);
    t.ok(settled.every((r) => Math.abs(r.temperature - target) < 0.6), `seed ${seed}: within 0.6 °C of ${target}`);
    t.ok(settled.some((r) => r.heating) && settled.some((r) => !r.heating), `seed ${seed}: heating cycles`);
  }
});

t.test('set_target up: heating starts and the room warms toward it; state and telemetry show it', async (t) => {
  const th = new Thermostat({ seed: 5 });
  const start = after(th, START, 4 * HOUR);
  const now = START + 4 * HOUR;
  t.same(th.command('set_target', { target: 24 }, now), { status: 'succeeded', result: { mode: 'heat', target: 24 } });
  t.same(th.state(), { mode: 'heat', target: 24, heating: true });
  const warming = th.sample(now + 30 * MINUTE);
  t.match(warming, { target: 24, heating: true });
  t.ok((warming.temperature as number) > (start.temperature as number) + 0.5, `${start.temperature} → ${warming.temperature} in 30 min`);
  const warm = after(th, now + 30 * MINUTE, 4 * HOUR);
  t.ok(Math.abs((warm.temperature as number) - 24) < 0.6, `reached ${warm.temperature}`);
});

t.test('set_mode eco lowers the target by the setback; off heats only against frost', async (t) => {
  const th = new Thermostat({ seed: 5 });
  th.command('set_target', { target: 21 }, START);
  after(th, START, 4 * HOUR);
  const now = START + 4 * HOUR;
  t.same(th.command('set_mode', { mode: 'eco' }, now), { status: 'succeeded', result: { mode: 'eco', target: 21 } });
  const eco = after(th, now, 6 * HOUR);
  t.equal(eco.target, 21 - ECO_SETBACK_C);
  t.ok(Math.abs((eco.temperature as number) - (21 - ECO_SETBACK_C)) < 0.6, `eco room ${eco.temperature}`);
  th.command('set_mode', { mode: 'off' }, now + 6 * HOUR);
  const off = after(th, now + 6 * HOUR, 3 * HOUR);
  t.match(off, { target: FROST_PROTECTION_C, heating: false });
  t.ok((off.temperature as number) < (eco.temperature as number), 'cools when off');
  t.same(th.state(), { mode: 'off', target: 21, heating: false });
});

t.test('bad commands are refused; desired state applies', async (t) => {
  const th = new Thermostat({ seed: 5 });
  const before = th.state();
  t.same(th.command('set_target', { target: 35 }, START), { status: 'failed', error: 'parameter "target" must be at most 30' });
  t.same(th.command('set_mode', { mode: 'cool' }, START), { status: 'failed', error: 'parameter "mode" must be one of heat, eco, off' });
  t.same(th.command('boost', {}, START), { status: 'failed', error: 'unknown command "boost"' });
  t.same(th.state(), before);
  t.same(th.applyDesired({ mode: 'eco', target: 19.5 }, START), {});
  t.match(th.state(), { mode: 'eco', target: 19.5 });
  t.same(th.applyDesired({ mode: 'turbo', target: 99, heating: true }, START), {
    mode: 'must be one of heat, eco, off',
    target: 'must be from 5 to 30',
    heating: 'reported only, not settable',
  });
  t.match(th.state(), { mode: 'eco', target: 19.5 }, 'refused values are not applied');
  t.same(th.applyDesired({ target: 20.25 }, START), { target: 'the thermostat sets tenths of a degree' }, 'a value the hub cannot know is refused by the device');
  t.match(th.state(), { target: 19.5 });
});
