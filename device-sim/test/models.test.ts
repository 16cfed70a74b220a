/** The device models: deterministic for a seed, values in plausible ranges, small state machines. */
import t from 'tap';
import { ClimateSensor, SmartPlug, modelDefinition, nextBatteryState, hourOfDay, MODEL_KINDS } from '../src/models/index.js';
import { decodeDeviceMessage, stateValueProblem } from '@iot-hub/protocol';

const START = Date.UTC(2024, 5, 1, 0, 0, 0);
const MINUTE = 60_000;

function run(model: { sample(now: number): Record<string, number | boolean> }, minutes: number, stepMinutes = 5) {
  return Array.from({ length: Math.floor(minutes / stepMinutes) }, (_, i) => model.sample(START + i * stepMinutes * MINUTE));
}

t.test('climate sensor: the same seed and clock give the same readings; another seed does not', async (t) => {
  t.same(run(new ClimateSensor({ seed: 5 }), 600), run(new ClimateSensor({ seed: 5 }), 600));
  t.notSame(run(new ClimateSensor({ seed: 5 }), 600), run(new ClimateSensor({ seed: 6 }), 600));
});

t.test('climate sensor: two days of readings are plausible for a room', async (t) => {
  for (const seed of [1, 2, 3, 1000, 2 ** 31]) {
    const samples = run(new ClimateSensor({ seed }), 48 * 60);
    for (const s of samples) {
      const { temperature, humidity, battery } = s as { temperature: number; humidity: number; battery: number };
      if (!(temperature >= 12 && temperature <= 30)) t.fail(`seed ${seed}: temperature ${temperature}`);
      if (!(humidity >= 20 && humidity <= 75)) t.fail(`seed ${seed}: humidity ${humidity}`);
      if (!(battery >= 0 && battery <= 100)) t.fail(`seed ${seed}: battery ${battery}`);
      if (Math.round(temperature * 100) / 100 !== temperature) t.fail(`seed ${seed}: temperature ${temperature} has more than two decimals`);
    }
    t.pass(`seed ${seed}: ${samples.length} readings in range`);
    // Daily cycle: mid afternoon is warmer and drier than before dawn.
    const at = (hour: number) => samples.filter((_, i) => Math.floor((i * 5) / 60) % 24 === hour);
    const mean = (xs: Record<string, number | boolean>[], key: string) => xs.reduce((a, x) => a + (x[key] as number), 0) / xs.length;
    t.ok(mean(at(16), 'temperature') > mean(at(4), 'temperature'), `seed ${seed}: 16:00 warmer than 04:00`);
    t.ok(mean(at(16), 'humidity') < mean(at(4), 'humidity'), `seed ${seed}: 16:00 drier than 04:00`);
    // The battery only drains.
    const batteries = samples.map((s) => s.battery as number);
    t.ok(batteries.every((b, i) => i === 0 || b <= (batteries[i - 1] as number)), `seed ${seed}: battery never rises`);
  }
});

t.test('climate sensor: the utc offset moves the daily cycle', async (t) => {
  t.equal(hourOfDay(START + 16 * 3600_000), 16);
  t.equal(hourOfDay(START + 16 * 3600_000, 2), 18);
  t.equal(hourOfDay(START + 1 * 3600_000, -3), 22);
});

t.test('battery state machine: ok → low → empty, never back', async (t) => {
  t.equal(nextBatteryState('ok', 80), 'ok');
  t.equal(nextBatteryState('ok', 20), 'low');
  t.equal(nextBatteryState('low', 50), 'low', 'no recovery without a new battery');
  t.equal(nextBatteryState('low', 0), 'empty');
  t.equal(nextBatteryState('empty', 90), 'empty');
  const sensor = new ClimateSensor({ seed: 1 });
  t.same(sensor.state(), { battery: 'ok' });
  // A year later the coin cell is flat.
  sensor.sample(START);
  sensor.sample(START + 365 * 24 * 3600_000);
  t.same(sensor.state(), { battery: 'empty' });
});

t.test('smart plug: commands switch the relay; power and energy follow', async (t) => {
  const plug = new SmartPlug({ seed: 3 });
  t.same(plug.command('turn_on', {}, START), { status: 'succeeded', result: { on: true } });
  const on = plug.sample(START);
  t.equal(on.on, true);
  t.ok((on.power as number) > 0 && (on.power as number) <= 3680, `power ${on.power}`);
  t.ok((on.voltage as number) > 220 && (on.voltage as number) < 240, `voltage ${on.voltage}`);
  plug.sample(START + 3600_000);
  t.same(plug.command('toggle', {}, START + 3600_000), { status: 'succeeded', result: { on: false } });
  const off = plug.sample(START + 2 * 3600_000);
  t.same([off.on, off.power], [false, 0]);
  t.ok((off.energy as number) > 0, 'an hour on left energy on the counter');
  const energy = off.energy;
  t.equal(plug.sample(START + 3 * 3600_000).energy, energy, 'no energy while off');
  t.same(plug.state(), { on: false });
  t.same(plug.command('explode', {}, START), { status: 'failed', error: 'unknown command "explode"' });
  plug.applyDesired({ on: true }, START + 3 * 3600_000);
  t.same(plug.state(), { on: true });
});

t.test('every model declares a hello the protocol accepts, and samples only declared metrics', async (t) => {
  for (const kind of MODEL_KINDS) {
    const model = modelDefinition(kind).create({ seed: 11 });
    const hello = model.hello();
    t.equal(hello.kind, kind);
    t.doesNotThrow(() => decodeDeviceMessage(JSON.stringify({ type: 'hello', ...hello })), `${kind} hello is valid`);
    const sample = model.sample(START);
    t.doesNotThrow(() => decodeDeviceMessage(JSON.stringify({ type: 'telemetry', metrics: sample })), `${kind} telemetry is valid`);
    for (const [name, value] of Object.entries(sample)) {
      const spec = hello.metrics[name];
      t.ok(spec, `${kind}: ${name} is declared`);
      t.equal(typeof value, spec?.type, `${kind}: ${name} has the declared type`);
    }
    // Reported state keys are declared [FP-4.1], with values that suit their spec.
    const state = model.state();
    t.doesNotThrow(() => decodeDeviceMessage(JSON.stringify({ type: 'state', state })), `${kind} state is valid`);
    for (const [name, value] of Object.entries(state)) {
      const spec = hello.state?.[name];
      t.ok(spec, `${kind}: state key ${name} is declared`);
      if (spec && value !== null) t.equal(stateValueProblem(spec, value), undefined, `${kind}: ${name} = ${JSON.stringify(value)} suits its spec`);
    }
    const settable = Object.entries(hello.state ?? {}).filter(([, spec]) => spec.settable);
    t.equal(settable.length > 0, model.applyDesired !== undefined, `${kind}: settable keys exactly when it takes desired state`);
  }
  t.throws(() => modelDefinition('toaster'), { message: /unknown device kind "toaster"/ });
});
