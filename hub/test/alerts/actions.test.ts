/** Command actions: sent through the command service with the rule as actor, held back by loop protection, refusals kept. */
import t from 'tap';
import type { AuditListResponse, CommandListResponse } from '@iot-hub/protocol';
import { eventually } from '../helpers/clients.js';
import { startTestHub } from '../helpers/hub.js';
import { alertIn, createRule, history, sensor, sleep } from './alert-fixtures.js';

const MODES = { setMode: { params: { mode: { type: 'enum' as const, values: ['eco', 'comfort'], required: true } } } };

function metric(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

t.test('firing sends the command once per actionIntervalSec per target; it is tracked and audited as the rule', async (t) => {
  const hub = await startTestHub(t);
  const room = await sensor(t, hub, 'living-room');
  const thermostat = await sensor(t, hub, 'thermostat', { kind: 'thermostat', commands: MODES });
  const rule = await createRule(hub, {
    scope: { type: 'device', deviceId: room.id },
    condition: { type: 'above', metric: 'temp', value: 26 },
    actions: [{ type: 'command', deviceId: thermostat.id, name: 'setMode', params: { mode: 'eco' } }],
    actionIntervalSec: 60,
  });
  await room.read({ temp: 27 });
  const first = await alertIn(hub, rule.id, room.id, 'firing');
  const commands = await eventually(() => {
    const got = thermostat.received().filter((f) => f.type === 'command');
    return got.length > 0 ? got : null;
  }, 5000, 'the command at the thermostat');
  t.match(commands, [{ name: 'setMode', params: { mode: 'eco' } }]);
  const listed = (await hub.api('GET', `/api/devices/${thermostat.id}/commands`)).body as CommandListResponse;
  t.match(listed.commands, [{ name: 'setMode', issuedBy: `rule:${rule.id}` }], 'tracked with the rule as who issued it');
  const audit = (await hub.api('GET', `/api/audit?actor=rule:${rule.id}`)).body as AuditListResponse;
  t.match(audit.entries, [{ action: 'command.create', deviceId: thermostat.id, details: { name: 'setMode', alertId: first.id } }]);
  t.match((await eventually(async () => (await history(hub, '?state=action'))[0])), { alertId: first.id, actor: `rule:${rule.id}`, summary: /^sent command setMode to thermostat: / });

  // The command makes the room flap: the second firing within the interval sends nothing.
  await room.read({ temp: 20 });
  await alertIn(hub, rule.id, room.id, 'resolved');
  await room.read({ temp: 28 });
  const second = await alertIn(hub, rule.id, room.id, 'firing');
  t.not(second.id, first.id);
  await sleep(300);
  t.equal(thermostat.received().filter((f) => f.type === 'command').length, 1, 'loop protection held the second command back');
  const text = (await hub.api('GET', '/metrics')).body as string;
  t.equal(metric(text, 'iot_hub_alert_actions_total{outcome="sent"}'), 1);
  t.equal(metric(text, 'iot_hub_alert_actions_total{outcome="suppressed"}'), 1);
  t.equal(metric(text, 'iot_hub_alert_actions_total{outcome="refused"}'), 0);
  t.equal(metric(text, 'iot_hub_alerts{state="firing",severity="warning"}'), 1);
  t.equal(metric(text, 'iot_hub_alert_transitions_total'), 3);
});

t.test('a refused command is logged, counted and kept in the history, and the alert carries on', async (t) => {
  const hub = await startTestHub(t);
  const room = await sensor(t, hub, 'cellar');
  const plug = await sensor(t, hub, 'pump', { kind: 'plug', commands: { start: {} } });
  const rule = await createRule(hub, {
    scope: { type: 'device', deviceId: room.id },
    condition: { type: 'above', metric: 'temp', value: 26 },
    actions: [{ type: 'command', deviceId: plug.id, name: 'start' }],
  });
  // The pump's new firmware no longer has the command the rule sends.
  t.equal(await plug.send({ type: 'hello', kind: 'plug', commands: {} }), null);
  await room.read({ temp: 30 });
  const firing = await alertIn(hub, rule.id, room.id, 'firing');
  const entry = await eventually(async () => (await history(hub, '?state=action'))[0]);
  t.match(entry, { alertId: firing.id, to: 'action', actor: `rule:${rule.id}`, summary: 'command start to pump refused: unknown_command: the device did not declare this command: "start": device "pump" declares no commands' });
  const text = (await hub.api('GET', '/metrics')).body as string;
  t.equal(metric(text, 'iot_hub_alert_actions_total{outcome="refused"}'), 1);
  const audit = (await hub.api('GET', `/api/audit?actor=rule:${rule.id}`)).body as AuditListResponse;
  t.match(audit.entries, [{ action: 'command.create', outcome: 'unknown_command' }]);
});
