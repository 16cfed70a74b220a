/** Commands are checked against the device's own hello: by the hub before sending, by firmware before acting [FP-4.4]. */
import t from 'tap';
import type { CommandSpec } from '../src/messages.js';
import { commandProblem } from '../src/commands.js';

const commands: Record<string, CommandSpec> = {
  dim: { params: { level: { type: 'integer', min: 0, max: 100, required: true }, fade: { type: 'number', min: 0 } } },
  mode: { params: { mode: { type: 'enum', values: ['a', 'b'], required: true } } },
  label: { params: { text: { type: 'string' }, loud: { type: 'boolean' } } },
  ping: {},
};

t.test('valid commands pass', async (t) => {
  t.equal(commandProblem(commands, 'dim', { level: 0 }), undefined);
  t.equal(commandProblem(commands, 'dim', { level: 100, fade: 1.5 }), undefined);
  t.equal(commandProblem(commands, 'mode', { mode: 'b' }), undefined);
  t.equal(commandProblem(commands, 'label', {}), undefined);
  t.equal(commandProblem(commands, 'label', { text: 'hi', loud: true }), undefined);
  t.equal(commandProblem(commands, 'ping', {}), undefined);
});

t.test('each problem is named', async (t) => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['explode', {}, 'unknown command "explode"'],
    ['constructor', {}, 'unknown command "constructor"'],
    ['ping', { x: 1 }, 'unknown parameter "x"'],
    ['dim', {}, 'missing parameter "level"'],
    ['dim', { level: '50' }, 'parameter "level" must be a number'],
    ['dim', { level: 50.5 }, 'parameter "level" must be an integer'],
    ['dim', { level: -1 }, 'parameter "level" must be at least 0'],
    ['dim', { level: 101 }, 'parameter "level" must be at most 100'],
    ['dim', { level: 5, fade: -1 }, 'parameter "fade" must be at least 0'],
    ['mode', { mode: 'c' }, 'parameter "mode" must be one of a, b'],
    ['mode', { mode: 1 }, 'parameter "mode" must be one of a, b'],
    ['label', { text: 3 }, 'parameter "text" must be a string'],
    ['label', { loud: 'yes' }, 'parameter "loud" must be a boolean'],
  ];
  for (const [name, params, error] of cases) t.equal(commandProblem(commands, name, params), error, `${name} ${JSON.stringify(params)}`);
});
