/** The device state contract (state-service-contract.ts) over SQLite: StateService and the control file. */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/audit-log.js';
import { EventBus } from '../../src/events/event-bus.js';
import { createLogger } from '../../src/log.js';
import { StateService } from '../../src/state/state-service.js';
import { stateServiceContract, type StateBacking } from './state-service-contract.js';

stateServiceContract(t, async (t): Promise<StateBacking> => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-state-'));
  const file = join(dir, 'control.db');
  const audit = new AuditLog({ file, events: new EventBus(), log: createLogger('silent') });
  await audit.open();
  const services: StateService[] = [];
  t.teardown(async () => {
    for (const service of services) await service.close();
    await audit.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    audit,
    async open(parts) {
      const state = new StateService({ file, audit, ...parts, log: createLogger('silent') });
      await state.open();
      services.push(state);
      return state;
    },
  };
});
