/** One broken device per fault, run through the checklist: it must fail exactly the checks named, with the reason. */
import type { Test } from 'tap';
import { startTestHub } from '../../../hub/test/helpers/hub.js';
import type { CheckId } from '../../src/report.js';
import { startFakeDevice, type Fault } from './fake-device.js';
import { describe, runAgainst, withStatus } from './run.js';

export async function expectFailures(t: Test, fault: Fault, failing: Partial<Record<CheckId, RegExp>>): Promise<void> {
  const hub = await startTestHub(t);
  const id = `fake-${fault}`;
  const { token } = await hub.provision(id, 'thermostat');
  await startFakeDevice(t, hub.mqttUrl, id, token, fault).ready;
  const report = await runAgainst(hub, id);
  t.comment(describe(report));
  t.same(withStatus(report, 'fail'), Object.keys(failing), `${fault}: fails exactly ${Object.keys(failing).join(', ')}`);
  for (const [check, detail] of Object.entries(failing)) t.match(report.checks.find((c) => c.id === check)?.detail, detail, `${check}: says what was seen`);
  t.same(withStatus(report, 'warn'), [], 'no warnings');
}
