/** Scenario files: checked with errors naming each bad field's path, expanded into a fleet plan, run against a real hub. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DeviceView } from '@iot-hub/protocol';
import { startTestHub } from '../../hub/test/helpers/hub.js';
import { eventually } from '../../hub/test/helpers/clients.js';
import { startFleet } from '../src/fleet.js';
import { MODEL_KINDS } from '../src/models/index.js';
import { ScenarioError, parseScenario, planScenario } from '../src/scenario.js';

const EXAMPLE = fileURLToPath(new URL('../scenarios/family-home.json', import.meta.url));

function problemsOf(text: string): readonly string[] {
  try {
    parseScenario(text, 'test.json');
  } catch (err) {
    if (err instanceof ScenarioError) return err.problems;
    throw err;
  }
  throw new Error('expected a ScenarioError');
}

t.test('the example scenario parses and covers every kind', async (t) => {
  const scenario = parseScenario(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
  const plan = planScenario(scenario);
  t.equal(plan.length, 17);
  t.same(new Set(plan.map((d) => d.kind)), new Set(MODEL_KINDS));
  t.ok(plan.every((d) => d.id.startsWith('family-')));
  t.same(planScenario(parseScenario(readFileSync(EXAMPLE, 'utf8'))), plan, 'deterministic');
});

t.test('defaults, counts, homes, per-device transport and interval', async (t) => {
  const scenario = parseScenario(
    JSON.stringify({
      homes: 2,
      transport: 'ws',
      rooms: [{ name: 'Hall', devices: [{ kind: 'dimmable-light', label: 'spot', count: 2, interval: '1s' }, { kind: 'contact-sensor', variant: 'door', transport: 'mqtt' }] }],
    }),
  );
  t.match(scenario, { seed: 1, idPrefix: 'sim-', transport: 'ws', intervalMs: 5000, utcOffsetHours: 0, homes: 2 });
  t.same(
    planScenario(scenario).map((d) => [d.id, d.name, d.transport, d.intervalMs, d.variant]),
    [
      ['sim-light-1', 'Home 1 Hall spot 1', 'ws', 1000, undefined],
      ['sim-light-2', 'Home 1 Hall spot 2', 'ws', 1000, undefined],
      ['sim-contact-3', 'Home 1 Hall contact', 'mqtt', 5000, 'door'],
      ['sim-light-4', 'Home 2 Hall spot 1', 'ws', 1000, undefined],
      ['sim-light-5', 'Home 2 Hall spot 2', 'ws', 1000, undefined],
      ['sim-contact-6', 'Home 2 Hall contact', 'mqtt', 5000, 'door'],
    ],
  );
});

t.test('every problem is reported, each with the path of the field', async (t) => {
  const [json, ...more] = problemsOf('{"rooms": [');
  t.match(json, /^not valid JSON: /);
  t.same(more, []);
  t.same(problemsOf('[]'), ['(root): must be an object']);
  t.same(problemsOf('{}'), ['rooms: must be a non-empty array of rooms']);
  t.same(
    problemsOf(
      JSON.stringify({
        seed: -1,
        transport: 'zigbee',
        intervall: '5s',
        interval: '1ms',
        idPrefix: 'a/b',
        rooms: [
          { name: 'Kitchen', devices: [{ kind: 'toaster' }, { kind: 'smart-plug', count: 0, transport: 'mixed' }, 'plug'] },
          { devices: [] },
        ],
      }),
    ),
    [
      'intervall: unknown field (known: name, seed, idPrefix, transport, interval, utcOffsetHours, homes, rooms, faults)',
      'seed: must be a whole number from 0 to 4294967295, got -1',
      'idPrefix: "a/b" is not a valid device id start (a letter or digit, then letters, digits, _ . -; at most 40 characters)',
      'transport: must be one of mqtt, ws, mixed, got "zigbee"',
      'interval: must be a duration from 100ms to 3600s, like "500ms", "5s" or "1m", got "1ms"',
      `rooms[0].devices[0].kind: unknown kind "toaster" (known: ${MODEL_KINDS.join(', ')})`,
      'rooms[0].devices[1].count: must be a whole number from 1 to 100000, got 0',
      'rooms[0].devices[1].transport: must be one of mqtt, ws, got "mixed"',
      'rooms[0].devices[2]: must be an object',
      'rooms[1].name: is required',
      'rooms[1].devices: must be a non-empty array of devices',
    ],
  );
  t.throws(() => parseScenario('{}', 'home.json'), { name: 'ScenarioError', message: 'home.json: rooms: must be a non-empty array of rooms' });
});

t.test('faults: durations and rates, clock skew may be negative, each bad field named', async (t) => {
  const rooms = [{ name: 'Hall', devices: [{ kind: 'motion-sensor' }] }];
  const ok = parseScenario(JSON.stringify({ rooms, faults: { disconnectEvery: '10m', offlineEvery: '1h', offlineFor: '2m', clockSkew: '-90s', duplicateRate: 0.05, reorderRate: 0, malformedRate: 0.001, oversizeRate: 1, stallEvery: '5m', stallFor: '20s', flapEvery: '1h', flapCount: 5 } }));
  t.same(ok.faults, { disconnectEveryMs: 600_000, offlineEveryMs: 3_600_000, offlineForMs: 120_000, clockSkewMs: -90_000, duplicateRate: 0.05, reorderRate: 0, malformedRate: 0.001, oversizeRate: 1, stallEveryMs: 300_000, stallForMs: 20_000, flapEveryMs: 3_600_000, flapCount: 5 });
  t.equal(parseScenario(JSON.stringify({ rooms })).faults, undefined);
  t.same(problemsOf(JSON.stringify({ rooms, faults: { disconnectEvery: '-5m', clockSkew: 'fast', duplicateRate: 2, flaps: 1 } })), [
    'faults.flaps: unknown field (known: disconnectEvery, offlineEvery, offlineFor, clockSkew, duplicateRate, reorderRate, malformedRate, oversizeRate, stallEvery, stallFor, flapEvery, flapCount)',
    'faults.disconnectEvery: must be a duration from 1s to 604800s, like "500ms", "5s" or "1m", got "-5m"',
    'faults.clockSkew: must be a duration from 0ms to 31536000s (or minus that), like "500ms", "5s" or "1m", got "fast"',
    'faults.duplicateRate: must be a number from 0 to 1, got 2',
  ]);
  t.same(problemsOf(JSON.stringify({ rooms, faults: [] })), ['faults: must be an object']);
});

t.test('a scenario fleet runs against a real hub with its transports and names', async (t) => {
  const hub = await startTestHub(t);
  const scenario = parseScenario(
    JSON.stringify({
      idPrefix: 'sc-',
      interval: '200ms',
      rooms: [{ name: 'Den', devices: [{ kind: 'thermostat', transport: 'ws' }, { kind: 'energy-meter', transport: 'mqtt', interval: '300ms' }] }],
    }),
  );
  const plan = planScenario(scenario);
  const fleet = await startFleet({ hubUrl: hub.httpUrl, mqttUrl: hub.mqttUrl, adminToken: hub.adminToken, devices: plan.length, transport: scenario.transport, intervalMs: scenario.intervalMs, plan });
  t.teardown(() => fleet.stop());
  t.same(fleet.devices, ['sc-thermostat-1', 'sc-meter-2']);
  const views = await eventually(async () => {
    const all = await Promise.all(fleet.devices.map(async (id) => (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView));
    return all.every((v) => Object.keys(v.latest).length > 0) ? all : null;
  }, 10_000, 'readings from both devices');
  t.same(views.map((v) => [v.name, v.kind, v.presence.transport]), [
    ['Den thermostat', 'thermostat', 'ws'],
    ['Den energy meter', 'energy-meter', 'mqtt'],
  ]);
});
