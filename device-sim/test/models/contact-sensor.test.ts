/** Door/window contact: openings by time of day, open/closed as state. */
import t from 'tap';
import { ContactSensor } from '../../src/models/contact-sensor.js';
import type { DeviceModel } from '../../src/models/model.js';
import { HOUR, MINUTE, START, run } from './helpers.js';

t.test('deterministic for a seed; the variant is door or window', async (t) => {
  t.same(run(new ContactSensor({ seed: 4 }), 24 * HOUR, MINUTE), run(new ContactSensor({ seed: 4 }), 24 * HOUR, MINUTE));
  t.equal(new ContactSensor({ seed: 4, variant: 'window' }).opening, 'window');
  t.equal(new ContactSensor({ seed: 4, variant: 'door' }).opening, 'door');
  t.same(new ContactSensor({ seed: 4, variant: 'door' }).hello().metrics.open?.description, 'door open');
});

t.test('a door opens often and briefly; a window seldom and for longer', async (t) => {
  const door = new ContactSensor({ seed: 2, variant: 'door' });
  const window = new ContactSensor({ seed: 2, variant: 'window' });
  const week = 7 * 24 * HOUR;
  const doorSamples = run(door, week, 10_000);
  const windowSamples = run(window, week, 10_000);
  const doorOpenings = doorSamples.at(-1)?.openings as number;
  const windowOpenings = windowSamples.at(-1)?.openings as number;
  t.ok(doorOpenings > 100 && doorOpenings < 1000, `door: ${doorOpenings} openings a week`);
  t.ok(windowOpenings >= 3 && windowOpenings < 40, `window: ${windowOpenings} openings a week`);
  const openShare = (xs: typeof doorSamples) => xs.filter((s) => s.open === true).length / xs.length;
  t.ok(openShare(doorSamples) < 0.2, `door open ${openShare(doorSamples)} of the time`);
  t.ok(openShare(windowSamples) / windowOpenings > openShare(doorSamples) / doorOpenings, 'a window stays open longer per opening');
  for (const samples of [doorSamples, windowSamples]) {
    const counts = samples.map((s) => s.openings as number);
    t.ok(counts.every((c, i) => i === 0 || c >= (counts[i - 1] as number)), 'openings never fall');
    t.ok(samples.every((s) => (s.battery as number) > 0 && (s.battery as number) <= 100), 'battery in range');
  }
});

t.test('state follows the contact', async (t) => {
  const door = new ContactSensor({ seed: 3, variant: 'door' });
  const seen = new Set<string>();
  for (let i = 0; i < 24 * 60; i++) {
    const sample = door.sample(START + i * MINUTE);
    const state = door.state();
    t.equal(state.contact, sample.open ? 'open' : 'closed');
    seen.add(state.contact as string);
    if (i > 0 && seen.size === 2) break;
  }
  t.same([...seen].sort(), ['closed', 'open'], 'opened and closed within a day');
  t.equal((door as DeviceModel).command, undefined, 'a contact takes no commands');
});
