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
