/** The registry keeps only the hello fields it understands [FP-4.1]. */
import t from 'tap';
import type { HelloMessage } from '@iot-hub/protocol';
import { capabilitiesFromHello } from '../../src/registry/capabilities.js';

t.test('unknown fields, however deep, are not kept; known ones are', async (t) => {
  let deep: unknown = 1;
  for (let i = 0; i < 20_000; i += 1) deep = [deep];
  const hello = {
    type: 'hello',
    kind: 'thermostat',
    fw: '1.2.0',
    extra: deep,
    metrics: { t: { type: 'number', unit: '°C', min: -40, max: 85, x: deep } },
    commands: { set: { description: 'set it', y: deep, params: { target: { type: 'number', min: 5, max: 30, required: true, z: deep } } } },
  } as unknown as HelloMessage;
  const caps = capabilitiesFromHello(hello);
  t.same(caps, {
    kind: 'thermostat',
    fw: '1.2.0',
    heartbeatSec: 60,
    metrics: { t: { type: 'number', unit: '°C', min: -40, max: 85 } },
    commands: { set: { description: 'set it', params: { target: { type: 'number', min: 5, max: 30, required: true } } } },
  });
  t.doesNotThrow(() => JSON.stringify(caps), 'what is kept can be stored');
});

t.test('declared state keys keep their known fields; boot and maxMessageBytes are kept [FP-4.1]', async (t) => {
  const hello = {
    type: 'hello',
    kind: 'thermostat',
    boot: 'b-7',
    maxMessageBytes: 2048,
    state: {
      target: { type: 'number', unit: '°C', min: 5, max: 30, settable: true, description: 'set-point', x: [1] },
      mode: { type: 'enum', values: ['heat', 'off'], settable: true },
    },
  } as unknown as HelloMessage;
  const caps = capabilitiesFromHello(hello);
  t.same(caps.state?.mode, { type: 'enum', values: ['heat', 'off'], settable: true });
  t.same(caps.state?.target, { type: 'number', unit: '°C', min: 5, max: 30, settable: true, description: 'set-point' });
  t.equal(caps.boot, 'b-7');
  t.equal(caps.maxMessageBytes, 2048);

  const wire = capabilitiesFromHello(JSON.parse('{"type":"hello","kind":"x","boot":0,"state":{"__proto__":{"type":"boolean"}}}') as HelloMessage);
  t.same(Object.keys(wire.state ?? {}), ['__proto__'], 'a device-chosen __proto__ is an own key');
  t.equal(Object.getPrototypeOf(wire.state), Object.prototype, 'and did not change the prototype');
  t.equal(wire.boot, 0, 'boot 0 is a boot');

  const plain = capabilitiesFromHello({ type: 'hello', v: 1, kind: 'x' });
  t.notOk('state' in plain || 'boot' in plain || 'maxMessageBytes' in plain, 'a 1.0 hello declares none of them');
  t.same(capabilitiesFromHello({ type: 'hello', v: 1, kind: 'x', state: {} }).state, {}, 'an empty declaration is kept: nothing is settable');
});
