/** Dimmable light: commands and desired state switch and dim it; telemetry follows. */
import t from 'tap';
import { DimmableLight } from '../../src/models/dimmable-light.js';
import { START } from './helpers.js';

t.test('deterministic for a seed', async (t) => {
  const a = new DimmableLight({ seed: 1 });
  const b = new DimmableLight({ seed: 1 });
  t.same([a.state(), a.sample(START)], [b.state(), b.sample(START)]);
});

t.test('on, dim, off: state and telemetry follow each command', async (t) => {
  const light = new DimmableLight({ seed: 6 });
  t.same(light.command('turn_on', { brightness: 80 }), { status: 'succeeded', result: { on: true, brightness: 80 } });
  const bright = light.sample(START);
  t.match(bright, { on: true, brightness: 80 });
  t.ok((bright.power as number) > 4 && (bright.power as number) < 12, `power ${bright.power} W at 80 %`);

  t.same(light.command('set_brightness', { brightness: 20 }), { status: 'succeeded', result: { on: true, brightness: 20 } });
  const dim = light.sample(START + 1000);
  t.match(dim, { on: true, brightness: 20 });
  t.ok((dim.power as number) < (bright.power as number), 'dimmer draws less');

  t.same(light.command('turn_off', {}), { status: 'succeeded', result: { on: false, brightness: 20 } });
  t.same(light.sample(START + 2000), { on: false, brightness: 0, power: 0.3 });
  t.same(light.command('toggle', {}).status, 'succeeded');
  t.match(light.sample(START + 3000), { on: true, brightness: 20 }, 'back on at the last brightness');
  t.same(light.command('set_brightness', { brightness: 0 }), { status: 'succeeded', result: { on: false, brightness: 20 } }, '0 switches off');
  t.same(light.command('turn_on', {}).status, 'succeeded');
  t.same(light.state(), { on: true, brightness: 20 });
});

t.test('bad parameters are refused and change nothing', async (t) => {
  const light = new DimmableLight({ seed: 6 });
  light.command('turn_on', { brightness: 50 });
  t.same(light.command('set_brightness', { brightness: 101 }), { status: 'failed', error: 'parameter "brightness" must be at most 100' });
  t.same(light.command('set_brightness', { brightness: 'max' }), { status: 'failed', error: 'parameter "brightness" must be a number' });
  t.same(light.command('turn_on', { brightness: 0 }), { status: 'failed', error: 'parameter "brightness" must be at least 1' });
  t.same(light.command('set_colour', { rgb: 'ff0000' }), { status: 'failed', error: 'unknown command "set_colour"' });
  t.same(light.state(), { on: true, brightness: 50 });
});

t.test('desired state applies what it can and refuses the rest with a reason [FP-4.3]', async (t) => {
  const light = new DimmableLight({ seed: 6 });
  t.same(light.applyDesired({ on: true, brightness: 35, colour: 'red' }), { colour: 'unknown state key' });
  t.same(light.state(), { on: true, brightness: 35 });
  t.match(light.sample(START), { on: true, brightness: 35 });
  t.same(light.applyDesired({ on: false, brightness: 500, colour: null }), { brightness: 'must be from 1 to 100' }, 'null is no desired value');
  t.same(light.state(), { on: false, brightness: 35 }, 'an out-of-range brightness is not applied');
});
