/**
 * Push-back never holds up an answer the hub waits for: while the ingest
 * gate is closed, a device that was sent a command is read again at once,
 * even if it was waiting at the gate, so its result lands and the command
 * succeeds; another device's telemetry keeps waiting (and is acknowledged
 * once the gate opens).
 *
 * The gate is the hub's real one, built by the test and held closed the way
 * a flood closes it: one message "in flight" against a cap of one. A flood
 * would close it only now and then; holding it is what makes this test
 * deterministic.
 */
import t from 'tap';
import { IngestGate } from '@iot-hub/hub';
import { connectMqtt, eventually } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';
import { TRANSPORTS, commandInState, postCommand, provisionDevice } from '../commands/test-device.js';

for (const transport of TRANSPORTS) {
  t.test(`${transport}: a command's result is read while push-back holds devices back`, async (t) => {
    const gate = new IngestGate({ maxLagMs: 0, maxInFlight: 1 });
    const hub = await startTestHub(t, {}, undefined, { gate });
    const device = await provisionDevice(t, hub, transport, `answers-${transport}`);
    await device.connect();
    await device.hello();
    const other = await hub.provision('held-back');
    const sensor = await connectMqtt(t, hub, other.id, other.token);

    // Closed: a message in flight, against a cap of one.
    gate.begin();
    t.teardown(() => {
      if (gate.inFlight > 0) gate.end();
    });
    t.notOk(gate.open, 'the gate is closed');
    // Another device's reading waits at the gate.
    let sensorAcked = false;
    const sensorReading = sensor.publishAsync(`devices/${other.id}/telemetry`, JSON.stringify({ metrics: { t: 1 } }), { qos: 1 }).then(() => {
      sensorAcked = true;
    });
    await eventually(() => gate.waitingSockets === 1, 5000, 'the other device waits at the gate');
    // So does the device, once it has sent a reading: MQTT reads nothing more from it; a WebSocket
    // frame already read is handled (and acknowledged), then the socket is read no further.
    const deviceReading = device.telemetry({ t: 1 });
    await eventually(() => gate.waitingSockets === 2, 5000, 'the device waits at the gate too');

    const created = await postCommand(hub, device.id, { name: 'identify' });
    t.equal(created.status, 202);
    const [command] = await device.waitForCommands(1);
    t.equal(command?.id, created.body.id);
    await device.result({ id: created.body.id, status: 'succeeded' });
    const done = await commandInState(hub, created.body.id, 'succeeded');
    t.equal(done.state, 'succeeded', 'the result was read and recorded with the gate closed');
    await deviceReading;
    t.notOk(gate.open, 'the gate was closed all along');
    t.notOk(sensorAcked, 'the other device is still held back');
    t.equal(gate.waitingSockets, 1, 'and it alone waits');

    gate.end();
    await sensorReading;
    t.ok(sensorAcked, 'held back, not lost: acknowledged once the gate opened');
  });
}
