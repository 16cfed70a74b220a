/** The command service contract on SQLite (CommandService). */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandService } from '../../src/commands/command-service.js';
import { commandServiceContract } from './command-service-contract.js';

commandServiceContract(t, 'sqlite', async (t, setup) => {
  const dir = mkdtempSync(join(tmpdir(), 'iot-hub-commands-'));
  const service = new CommandService({ file: join(dir, 'control.db'), ...setup });
  await service.open();
  t.teardown(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return service;
});
