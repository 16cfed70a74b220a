import t from 'tap';
import { deviceTopic, parseTopic } from '@iot-hub/protocol';

t.test('deviceTopic and parseTopic round-trip', async (t) => {
  t.equal(deviceTopic('plug-1', 'telemetry'), 'devices/plug-1/telemetry');
  t.same(parseTopic('devices/plug-1/telemetry'), { deviceId: 'plug-1', channel: 'telemetry' });
});

t.test('parseTopic rejects foreign shapes', async (t) => {
  for (const topic of ['devices/plug-1', 'devices//telemetry', 'other/plug-1/telemetry', 'devices/plug-1/telemetry/x', 'devices/plug-1/nope']) {
    t.equal(parseTopic(topic), null, topic);
  }
});
