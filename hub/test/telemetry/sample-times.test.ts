/**
 * Sample times on the wire [FP-4.2]: `age` for devices without a clock
 * (issue 19, "no clock needed"), and `ts_conflict` for a second, different
 * reading of a metric at the same time (issue 19, item 4), on both transports.
 */
import t from 'tap';
import type { DeviceView } from '@iot-hub/protocol';
import { TRANSPORTS, connectDevice, storedPoints, storedValues } from '../helpers/any-transport-device.js';
import { startTestHub } from '../helpers/hub.js';

for (const transport of TRANSPORTS) {
  t.test(`${transport}: age gives ts = arrival - age, single samples and batches`, async (t) => {
    const hub = await startTestHub(t);
    const id = `clockless-${transport}`;
    const { token } = await hub.provision(id);
    const device = await connectDevice(t, hub, transport, id, token);
    const before = Date.now();
    t.equal(await device.send({ type: 'telemetry', age: 90_000, seq: 0, metrics: { t: 1 } }), null);
    t.equal(
      await device.send({
        type: 'telemetry',
        samples: [
          { age: 60_000, seq: 1, metrics: { t: 2 } },
          { age: 30_000, seq: 2, metrics: { t: 3 } },
        ],
      }),
      null,
    );
    const after = Date.now();
    const points = await storedPoints(hub, id, 't');
    t.same(points.map((p) => p.value), [1, 2, 3]);
    for (const [i, age] of [90_000, 60_000, 30_000].entries()) {
      const ts = points[i]?.ts ?? 0;
      t.ok(ts >= before - age && ts <= after - age, `sample ${i}: ts ${ts} is arrival - ${age} (arrival within ${before}..${after})`);
    }
  });

  t.test(`${transport}: an age beyond MAX_TS_PAST_MS, or both ts and age, is invalid_message`, async (t) => {
    const hub = await startTestHub(t);
    const id = `oldage-${transport}`;
    const { token } = await hub.provision(id);
    const device = await connectDevice(t, hub, transport, id, token);
    t.match(await device.send({ type: 'telemetry', age: 31_536_000_001, metrics: { t: 1 } }), { error: 'invalid_message', code: 400 });
    t.match(await device.send({ type: 'telemetry', age: 5, ts: Date.now(), metrics: { t: 1 } }), { error: 'invalid_message', message: 'message does not match the schema: (message): must have at most one of "ts" or "age"' });
    t.match(await device.send({ type: 'telemetry', samples: [{ age: 5, ts: Date.now(), metrics: { t: 1 } }] }), {
      error: 'invalid_message',
      message: 'message does not match the schema: /samples/0: a batch sample must have exactly one of "ts" or "age"',
    });
  });

  t.test(`${transport}: two different readings of a metric at one ts are refused with ts_conflict`, async (t) => {
    const hub = await startTestHub(t);
    const id = `conflict-${transport}`;
    const { token } = await hub.provision(id);
    const device = await connectDevice(t, hub, transport, id, token);
    const ts = Date.now() - 10_000;

    // Within one message: the whole message is refused, nothing of it stored.
    const within = await device.send({
      type: 'telemetry',
      samples: [
        { ts: ts - 1000, metrics: { t: 0.5 } },
        { ts, metrics: { t: 1, h: 40 } },
        { ts, metrics: { t: 2 } },
      ],
    });
    t.same(within, {
      v: 1,
      type: 'error',
      code: 409,
      error: 'ts_conflict',
      message: `another reading of this metric has the same timestamp: metric "t" at ts ${ts}: 2 here, 1 in sample 1 of this message; give every reading its own time`,
      ...(transport === 'ws' ? { ref: within?.ref } : { topic: `devices/${id}/telemetry` }),
    });
    t.same(await storedPoints(hub, id, 't'), [], 'nothing stored');

    // The same value twice at one ts is harmless.
    t.equal(await device.send({ type: 'telemetry', samples: [{ ts, metrics: { t: 1 } }, { ts, metrics: { t: 1, h: 40 } }] }), null);

    // Against the newest reading the hub holds.
    const latest = await device.send({ type: 'telemetry', ts, metrics: { t: 3 } });
    t.match(latest, { code: 409, error: 'ts_conflict', message: `another reading of this metric has the same timestamp: metric "t" at ts ${ts}: 3 here, 1 held by the hub; give every reading its own time` });
    // A batch in time order with the conflict on its last sample.
    t.match(await device.send({ type: 'telemetry', samples: [{ ts: ts - 2000, metrics: { t: 7 } }, { ts, metrics: { h: 41 } }] }), { error: 'ts_conflict' });

    // The very same reading again (a resend) is accepted.
    t.equal(await device.send({ type: 'telemetry', ts, metrics: { t: 1 } }), null);
    t.same(await storedPoints(hub, id, 't'), [{ ts, value: 1 }], 'one reading at that ts');
    t.same(await storedValues(hub, id, 'h', 1), [40]);
    const view = (await hub.api('GET', `/api/devices/${id}`)).body as DeviceView;
    t.same(view.latest.t, { ts, value: 1 });
    t.equal(view.stats.errors, 3);
  });

  t.test(`${transport}: samples with age that land on one ts conflict like ts`, async (t) => {
    const hub = await startTestHub(t);
    const id = `ageconflict-${transport}`;
    const { token } = await hub.provision(id);
    const device = await connectDevice(t, hub, transport, id, token);
    const refused = await device.send({ type: 'telemetry', samples: [{ age: 5000, metrics: { t: 1 } }, { age: 5000, metrics: { t: 2 } }] });
    t.match(refused, { error: 'ts_conflict', code: 409 });
    t.same(await storedPoints(hub, id, 't'), []);
  });
}
