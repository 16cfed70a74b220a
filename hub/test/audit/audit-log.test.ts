/** The audit log contract (audit-store-contract.ts) over SQLite, in the control file. */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/audit-log.js';
import { EventBus } from '../../src/events/event-bus.js';
import { createLogger } from '../../src/log.js';
import { auditStoreContract, type AuditBacking } from './audit-store-contract.js';

auditStoreContract(t, async (t): Promise<AuditBacking> => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-audit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return {
    async open(options = {}) {
      const events = new EventBus();
      const audit = new AuditLog({ file: join(dir, 'control.db'), events, log: createLogger('silent'), ...options });
      await audit.open();
      t.teardown(() => audit.close());
      return { audit, events };
    },
  };
});
