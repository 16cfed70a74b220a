/**
 * Controls generated from declared commands: the widget each ParamSpec
 * gets, the power switch made of a turn_on/turn_off pair, initial values
 * from what the device reports, parameters parsed and checked as the hub
 * checks them, and the switch's optimistic position.
 */
import t from 'tap';
import type { Capabilities, CommandState, CommandView } from '@iot-hub/protocol';
import {
  buildParams,
  controlsFor,
  desiredEditValue,
  fieldFor,
  humanize,
  initialValue,
  lastCommandOf,
  parseField,
  stateFieldFor,
  switchValue,
  type ControlSpec,
} from '../src/data/controls.js';

const T0 = 1_750_000_000_000;

// The simulator's declarations (device-sim/src/models), which the demo and the e2e test use.
const PLUG: Capabilities = {
  kind: 'smart-plug',
  metrics: { power: { type: 'number', unit: 'W' }, on: { type: 'boolean' } },
  commands: { turn_on: { description: 'close the relay' }, turn_off: { description: 'open the relay' }, toggle: { description: 'flip the relay' } },
  heartbeatSec: 60,
};
const LIGHT: Capabilities = {
  kind: 'dimmable-light',
  metrics: { on: { type: 'boolean' }, brightness: { type: 'number', unit: '%', min: 0, max: 100 } },
  commands: {
    turn_on: { params: { brightness: { type: 'integer', unit: '%', min: 1, max: 100 } } },
    turn_off: {},
    toggle: {},
    set_brightness: { params: { brightness: { type: 'integer', unit: '%', min: 0, max: 100, required: true } } },
  },
  heartbeatSec: 60,
};
const THERMOSTAT: Capabilities = {
  kind: 'thermostat',
  metrics: { temperature: { type: 'number', unit: '°C' }, target: { type: 'number', unit: '°C', min: 5, max: 30 } },
  commands: {
    set_target: { description: 'set the target temperature', params: { target: { type: 'number', unit: '°C', min: 5, max: 30, required: true } } },
    set_mode: { params: { mode: { type: 'enum', values: ['heat', 'eco', 'off'], required: true } } },
  },
  heartbeatSec: 60,
};

function command(name: string, states: CommandState[], createdAt = T0): CommandView {
  const transitions = states.map((state, i) => ({ state, at: createdAt + i * 10 }));
  return {
    id: `${name}-${createdAt}`,
    deviceId: 'd',
    name,
    params: {},
    state: states[states.length - 1]!,
    transitions,
    createdAt,
    updatedAt: transitions[transitions.length - 1]!.at,
    timeoutMs: 30_000,
    expiresAt: createdAt + 3_600_000,
    deliveries: 1,
    issuedBy: 'admin',
  };
}

function only<K extends ControlSpec['kind']>(controls: ControlSpec[], key: string, kind: K): Extract<ControlSpec, { kind: K }> {
  const control = controls.find((c) => c.key === key);
  if (!control || control.kind !== kind) throw new Error(`no ${kind} control ${key} in ${JSON.stringify(controls.map((c) => c.key))}`);
  return control as Extract<ControlSpec, { kind: K }>;
}

t.test('names read as labels', async (t) => {
  t.equal(humanize('set_target'), 'Set target');
  t.equal(humanize('turn-on'), 'Turn on');
  t.equal(humanize('brightnessLevel'), 'Brightness level');
  t.equal(humanize('x'), 'X');
});

t.test('a widget per ParamSpec', async (t) => {
  t.match(fieldFor('on', { type: 'boolean', required: true }), { widget: 'toggle', required: true });
  t.match(fieldFor('mode', { type: 'enum', values: ['a', 'b'] }), { widget: 'select', options: ['a', 'b'], required: false });
  t.match(fieldFor('level', { type: 'integer', min: 0, max: 100, unit: '%' }), { widget: 'slider', min: 0, max: 100, step: 1, unit: '%' });
  t.match(fieldFor('big', { type: 'integer', min: 0, max: 65535 }), { widget: 'number', step: 1 }, 'too many steps for a slider');
  t.match(fieldFor('count', { type: 'integer', min: 1 }), { widget: 'number', min: 1, step: 1 }, 'an open range: a number');
  t.match(fieldFor('target', { type: 'number', min: 5, max: 30 }), { widget: 'number', min: 5, max: 30, step: 0.1 }, 'a number with its range');
  t.match(fieldFor('gain', { type: 'number' }), { widget: 'number', step: 'any' });
  t.match(fieldFor('label', { type: 'string', description: 'free text' }), { widget: 'text', description: 'free text' });
});

t.test('a smart plug: a power switch and a toggle button', async (t) => {
  const controls = controlsFor(PLUG);
  t.strictSame(
    controls.map((c) => [c.kind, c.key]),
    [
      ['switch', 'switch:turn_on'],
      ['button', 'toggle'],
    ],
  );
  t.match(only(controls, 'switch:turn_on', 'switch'), { stateKey: 'on', onCommand: 'turn_on', offCommand: 'turn_off', label: 'Power' });
  t.match(only(controls, 'toggle', 'button'), { label: 'Toggle', description: 'flip the relay', command: 'toggle' });
});

t.test('a dimmable light: switch, toggle, and a slider for the one required parameter', async (t) => {
  const controls = controlsFor(LIGHT);
  t.strictSame(controls.map((c) => c.key), ['switch:turn_on', 'toggle', 'set_brightness']);
  t.match(only(controls, 'set_brightness', 'field').field, { name: 'brightness', widget: 'slider', min: 0, max: 100, unit: '%' });
});

t.test('a thermostat: a number with its range and an enum select', async (t) => {
  const controls = controlsFor(THERMOSTAT);
  t.match(only(controls, 'set_target', 'field'), { label: 'Set target', description: 'set the target temperature', field: { widget: 'number', min: 5, max: 30 } });
  t.match(only(controls, 'set_mode', 'field').field, { widget: 'select', options: ['heat', 'eco', 'off'] });
});

t.test('without an on state to show, turn_on and turn_off stay separate; optional parameters make a form', async (t) => {
  const capabilities: Capabilities = {
    kind: 'siren',
    metrics: {},
    commands: {
      turn_on: { params: { volume: { type: 'integer', min: 0, max: 10 } } },
      turn_off: {},
      configure: { params: { tone: { type: 'enum', values: ['a', 'b'], required: true }, repeat: { type: 'integer', min: 1 } } },
    },
    heartbeatSec: 60,
  };
  const controls = controlsFor(capabilities);
  t.strictSame(controls.map((c) => [c.kind, c.key]), [
    ['form', 'turn_on'],
    ['button', 'turn_off'],
    ['form', 'configure'],
  ]);
  t.strictSame(only(controls, 'configure', 'form').fields.map((f) => [f.name, f.widget, f.required]), [
    ['tone', 'select', true],
    ['repeat', 'number', false],
  ]);
  // Once the device reports an `on` state, the pair becomes a switch.
  t.equal(controlsFor(capabilities, { on: { value: false, ts: T0 } })[0]?.kind, 'switch');
  t.strictSame(controlsFor(null), [], 'no capabilities yet: no controls');
  t.strictSame(controlsFor({ ...PLUG, commands: {} }), [], 'a sensor declares no commands');
});

t.test('initial values come from the reported state, then the latest reading, then a default', async (t) => {
  const slider = fieldFor('brightness', { type: 'integer', min: 0, max: 100, required: true });
  t.equal(initialValue(slider, { brightness: { value: 40, ts: T0 } }, { brightness: { value: 0, ts: T0 + 1 } }), 0, 'the newer of state and metric: a light off reads 0');
  t.equal(initialValue(slider, { brightness: { value: 40, ts: T0 + 1 } }, { brightness: { value: 0, ts: T0 } }), 40, 'a newer report wins');
  t.equal(initialValue(slider, { brightness: { value: 40, ts: T0 } }, { brightness: { value: 0, ts: T0 } }), 0, 'a tie goes to the metric');
  t.equal(initialValue(slider, {}, { brightness: { value: 70, ts: T0 } }), 70);
  t.equal(initialValue(slider, {}, {}), 0, 'the minimum');
  t.equal(initialValue(slider, { brightness: { value: 140, ts: T0 } }, {}), 100, 'clamped into the range');
  t.equal(initialValue(slider, { brightness: { value: 'high', ts: T0 } }, {}), 0, 'a value of the wrong type is ignored');
  const mode = fieldFor('mode', { type: 'enum', values: ['heat', 'eco', 'off'], required: true });
  t.equal(initialValue(mode, { mode: { value: 'eco', ts: T0 } }, {}), 'eco');
  t.equal(initialValue(mode, { mode: { value: 'turbo', ts: T0 } }, {}), 'heat', 'not an option: the first one');
  t.equal(initialValue(fieldFor('volume', { type: 'integer', min: 0, max: 10 }), {}, {}), '', 'optional fields start empty');
  t.equal(initialValue(fieldFor('on', { type: 'boolean', required: true }), {}, {}), false);
});

t.test('parameters are parsed and checked against the declaration as the hub does', async (t) => {
  const target = fieldFor('target', THERMOSTAT.commands.set_target!.params!.target!);
  t.strictSame(buildParams(THERMOSTAT, 'set_target', [target], { target: '21.5' }), { params: { target: 21.5 } });
  t.strictSame(buildParams(THERMOSTAT, 'set_target', [target], { target: '' }), { error: 'Target is required' });
  t.strictSame(buildParams(THERMOSTAT, 'set_target', [target], { target: 'warm' }), { error: 'Target must be a number' });
  t.strictSame(buildParams(THERMOSTAT, 'set_target', [target], { target: 99 }), { error: 'Target must be at most 30' });
  const brightness = fieldFor('brightness', LIGHT.commands.set_brightness!.params!.brightness!);
  t.strictSame(buildParams(LIGHT, 'set_brightness', [brightness], { brightness: '55.5' }), { error: 'Brightness must be an integer' });
  const optional = fieldFor('brightness', LIGHT.commands.turn_on!.params!.brightness!);
  t.strictSame(buildParams(LIGHT, 'turn_on', [optional], { brightness: '' }), { params: {} }, 'an empty optional field is left out');
  t.strictSame(buildParams(PLUG, 'turn_on', [], {}), { params: {} });
  t.strictSame(parseField(fieldFor('on', { type: 'boolean' }), true), { value: true });
  t.strictSame(parseField(fieldFor('name', { type: 'string', required: true }), 'x'), { value: 'x' });
});

t.test('the power switch: newest of report, reading and command; optimistic while a command runs', async (t) => {
  const control = only(controlsFor(PLUG), 'switch:turn_on', 'switch');
  const off = { on: { value: false, ts: T0 } };
  t.strictSame(switchValue(control, {}, {}, undefined), { on: null, pending: false }, 'nothing known yet');
  t.strictSame(switchValue(control, off, {}, undefined), { on: false, pending: false });
  t.strictSame(switchValue(control, off, { on: { value: true, ts: T0 + 5 } }, undefined), { on: true, pending: false }, 'a newer reading wins');

  t.strictSame(switchValue(control, off, {}, command('turn_on', ['queued'], T0 + 100)), { on: true, pending: true }, 'queued: shows where it goes');
  t.strictSame(switchValue(control, off, {}, command('turn_on', ['queued', 'sent', 'acknowledged'], T0 + 100)), { on: true, pending: true });
  t.strictSame(switchValue(control, off, {}, command('turn_on', ['queued', 'sent', 'succeeded'], T0 + 100)), { on: true, pending: false }, 'succeeded before the device reported');
  t.strictSame(
    switchValue(control, { on: { value: false, ts: T0 + 500 } }, {}, command('turn_on', ['queued', 'sent', 'succeeded'], T0 + 100)),
    { on: false, pending: false },
    'a report after the command wins (someone switched it back)',
  );
  for (const end of ['failed', 'timed_out', 'expired', 'cancelled'] as const) {
    t.strictSame(switchValue(control, off, {}, command('turn_on', ['queued', 'sent', end], T0 + 100)), { on: false, pending: false }, `${end}: rolled back`);
  }
  t.strictSame(switchValue(control, off, {}, command('toggle', ['queued'], T0 + 100)), { on: false, pending: false }, 'other commands do not move it');
});

t.test('lastCommandOf picks the newest command of the given names', async (t) => {
  const timeline = [command('toggle', ['queued'], T0 + 3), command('turn_off', ['queued'], T0 + 2), command('turn_on', ['queued'], T0 + 1)];
  t.equal(lastCommandOf(timeline, ['turn_on', 'turn_off'])?.name, 'turn_off');
  t.equal(lastCommandOf(timeline, ['set_mode']), undefined);
});

t.test('desired state keys are edited like the parameter, metric or value of that name', async (t) => {
  t.match(stateFieldFor('mode', THERMOSTAT, 'heat'), { widget: 'select', options: ['heat', 'eco', 'off'], required: true });
  t.match(stateFieldFor('target', THERMOSTAT, 21), { widget: 'number', min: 5, max: 30 });
  t.match(stateFieldFor('on', PLUG, true), { widget: 'toggle' }, 'from the metric');
  t.match(stateFieldFor('label', null, 'kitchen'), { widget: 'text' }, 'from the value');
  t.match(stateFieldFor('level', null, 3), { widget: 'number', step: 'any' });
});

// A 1.1 thermostat that declares its state keys [FP-4.1]: the declaration wins over a command parameter of the same name.
const DECLARING: Capabilities = {
  ...THERMOSTAT,
  state: {
    mode: { type: 'enum', values: ['heat', 'eco'], settable: true },
    target: { type: 'number', unit: '°C', min: 10, max: 25, settable: true, description: 'room set-point' },
    fan: { type: 'integer', min: 0, max: 5, settable: true },
    boost: { type: 'boolean', settable: true },
    label: { type: 'string', settable: true },
    window: { type: 'string' },
  },
};

t.test('a declared state key is edited by its declaration', async (t) => {
  t.match(stateFieldFor('mode', DECLARING, 'heat'), { widget: 'select', options: ['heat', 'eco'], required: true });
  t.match(stateFieldFor('target', DECLARING, 21), { widget: 'number', type: 'number', min: 10, max: 25, unit: '°C', step: 0.1, description: 'room set-point' });
  t.match(stateFieldFor('fan', DECLARING, 1), { widget: 'number', type: 'integer', min: 0, max: 5, step: 1 }, 'a number input, never a slider');
  t.match(stateFieldFor('boost', DECLARING, undefined), { widget: 'toggle', type: 'boolean' });
  t.match(stateFieldFor('label', DECLARING, undefined), { widget: 'text', type: 'string' });
});

t.test('a desired edit is checked as the hub checks it, in the hub’s words', async (t) => {
  const edit = (key: string, raw: boolean | number | string, caps: Capabilities | null = DECLARING) => desiredEditValue(key, stateFieldFor(key, caps, undefined), raw, caps);
  t.strictSame(edit('target', '20.5'), { value: 20.5 });
  t.strictSame(edit('target', '26'), { error: 'state key "target" must be from 10 to 25, got 26' });
  t.strictSame(edit('fan', '2.5'), { error: 'state key "fan" must be a whole number (from 0 to 5), got 2.5' });
  t.strictSame(edit('fan', '3'), { value: 3 });
  t.strictSame(edit('mode', 'eco'), { value: 'eco' });
  t.strictSame(edit('boost', true), { value: true });
  t.match(edit('label', 'x'.repeat(257)), { error: /^state key "label" must be a string of at most 256 characters, got "x+"$/ });
  t.strictSame(edit('window', 'open'), { error: 'state key "window" is not settable; settable keys: mode, target, fan, boost, label' });
  t.strictSame(edit('target', ''), { error: 'Target is required' });
  t.strictSame(edit('target', 'warm'), { error: 'Target must be a number' });
  // Without a declaration (a 1.0 device), as before: the range the field knows from a parameter or metric.
  t.strictSame(edit('target', '45', THERMOSTAT), { error: 'must be between 5 and 30' });
  t.strictSame(edit('target', '21', THERMOSTAT), { value: 21 });
  t.strictSame(edit('anything', 'at all', null), { value: 'at all' });
});
