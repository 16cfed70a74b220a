/** Desired values are checked against the device's declared state keys, by the hub and the dashboard alike [FP-4.1]. */
import t from 'tap';
import type { StateKeySpec } from '../src/messages.js';
import { desiredProblem, settableKeys } from '../src/state-keys.js';

const declared: Record<string, StateKeySpec> = {
  mode: { type: 'enum', values: ['heat', 'eco', 'off'], settable: true },
  target: { type: 'number', unit: '°C', min: 5, max: 30, settable: true },
  fan: { type: 'integer', min: 0, settable: true },
  limit: { type: 'integer', max: 10, settable: true },
  level: { type: 'number', settable: true },
  boost: { type: 'boolean', settable: true },
  label: { type: 'string', settable: true },
  window: { type: 'string', description: 'reported only' },
  firmware: { type: 'string', settable: false },
};

t.test('values that match a settable key pass', async (t) => {
  for (const [key, value] of [
    ['mode', 'eco'],
    ['target', 5],
    ['target', 30],
    ['target', 21.5],
    ['fan', 0],
    ['fan', 7],
    ['limit', -3],
    ['level', -1e9],
    ['boost', false],
    ['label', ''],
    ['label', '€'.repeat(256)],
  ] as const) {
    t.equal(desiredProblem(declared, key, value), undefined, `${key} = ${JSON.stringify(value)}`);
  }
});

t.test('removing a key (null) is always allowed, settable or not, declared or not', async (t) => {
  t.equal(desiredProblem(declared, 'window', null), undefined);
  t.equal(desiredProblem(declared, 'ghost', null), undefined);
});

t.test('a device that declared no state keys takes any desired key, as in 1.0', async (t) => {
  t.equal(desiredProblem(undefined, 'anything', 'at all'), undefined);
});

t.test('each problem names the key, the reason and what is allowed', async (t) => {
  const settable = 'settable keys: mode, target, fan, limit, level, boost, label';
  const cases: [string, string | number | boolean, string][] = [
    ['ghost', 1, `state key "ghost" is not declared; ${settable}`],
    ['constructor', 1, `state key "constructor" is not declared; ${settable}`],
    ['window', 'open', `state key "window" is not settable; ${settable}`],
    ['firmware', '2.0', `state key "firmware" is not settable; ${settable}`],
    ['mode', 'cool', 'state key "mode" must be one of heat, eco, off, got "cool"'],
    ['mode', 1, 'state key "mode" must be one of heat, eco, off, got 1'],
    ['target', 45, 'state key "target" must be from 5 to 30, got 45'],
    ['target', 4.9, 'state key "target" must be from 5 to 30, got 4.9'],
    ['target', '21', 'state key "target" must be a number (from 5 to 30), got "21"'],
    ['fan', 1.5, 'state key "fan" must be a whole number (at least 0), got 1.5'],
    ['fan', -1, 'state key "fan" must be at least 0, got -1'],
    ['limit', 11, 'state key "limit" must be at most 10, got 11'],
    ['level', true, 'state key "level" must be a number, got true'],
    ['boost', 'yes', 'state key "boost" must be a boolean, got "yes"'],
    ['label', 5, 'state key "label" must be a string of at most 256 characters, got 5'],
    ['label', 'x'.repeat(257), `state key "label" must be a string of at most 256 characters, got "${'x'.repeat(257)}"`],
  ];
  for (const [key, value, expected] of cases) t.equal(desiredProblem(declared, key, value), expected, `${key} = ${JSON.stringify(value)}`);
  t.equal(desiredProblem({ window: { type: 'string' } }, 'window', 'x'), 'state key "window" is not settable; settable keys: none');
});

t.test('settable keys, in declaration order', async (t) => {
  t.strictSame(settableKeys(declared), ['mode', 'target', 'fan', 'limit', 'level', 'boost', 'label']);
  t.strictSame(settableKeys({}), []);
});
