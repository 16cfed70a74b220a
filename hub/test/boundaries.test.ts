/**
 * The lint rules that hold the architecture's boundaries (eslint.boundaries.js)
 * refuse what they should, name the broken boundary, and allow the imports
 * the architecture needs. The rules are run alone, with the TypeScript parser
 * but without type information, on code given as if it sat at each path.
 */
import t, { type Test } from 'tap';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

const ROOT = resolve(import.meta.dirname, '../..');
// A variable specifier: the config is plain JavaScript outside any TypeScript project.
const boundariesModule = pathToFileURL(resolve(ROOT, 'eslint.boundaries.js')).href;
const { boundaries } = (await import(boundariesModule)) as { boundaries: Linter.Config[] };

const eslint = new ESLint({
  cwd: ROOT,
  overrideConfigFile: true,
  overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser as Linter.Parser } }, ...boundaries],
});

/** The rule ids that fire for `code` at `filePath`, each with the start of its message. */
async function refusals(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(ROOT, filePath) });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

/** Exactly one refusal for `code` at `filePath`, and it matches `pattern`. */
async function refusedOnce(t: Test, filePath: string, code: string, pattern: RegExp, name = filePath): Promise<void> {
  const got = await refusals(filePath, code);
  t.equal(got.length, 1, `${name}: one refusal`);
  t.match(got[0], pattern, name);
}

t.test('protocol/ imports no Node module and no other workspace', async (t) => {
  const file = 'protocol/src/any.ts';
  await refusedOnce(t, file, "import { readFileSync } from 'node:fs';", /^no-restricted-imports: .*protocol\/ runs in browsers too: no Node modules\.$/);
  await refusedOnce(t, file, "import { readFileSync } from 'fs';", /^no-restricted-imports: .*protocol\/ runs in browsers too: no Node modules\.$/);
  await refusedOnce(t, file, "import type { Hub } from '@iot-hub/hub';", /^no-restricted-imports: .*protocol\/ is the shared contract: it imports no other workspace\.$/);
  await refusedOnce(t, file, "import { x } from '../../device-sim/src/fleet.js';", /^no-restricted-imports: .*protocol\/ is the shared contract/);
  t.same(await refusals(file, "import { x } from './codec.js';\nimport Ajv from 'ajv';"), []);
  t.same(await refusals(file, 'export const env = process.env.X;'), [
    'no-restricted-properties: \'process.env\' is restricted from being used. only an entry point (hub/src/main.ts, the CLIs, the demo) reads the environment; take the value from the frozen config.',
  ]);
});

t.test('transports import no store, database or telemetry module', async (t) => {
  const file = 'hub/src/transports/mqtt/any.ts';
  for (const from of ['../../telemetry/telemetry-store.js', '../../telemetry/pipeline.js', '../../db/open-sqlite.js', '../../registry/sqlite-registry-store.js', '../../registry/registry-store.js', '../../cluster/pg/pg-database.js', 'better-sqlite3', 'pg']) {
    await refusedOnce(t, file, `import type { X } from '${from}';`, /^no-restricted-imports: .*transports hand messages to the device gateway \(core\/\); they import no store, database or telemetry module\.$/, from);
  }
  t.same(await refusals(file, "import type { DeviceGateway } from '../../core/device-gateway.js';\nimport type { Registry } from '../../registry/registry.js';\nimport Aedes from 'aedes';"), [], 'the gateway, the registry service and aedes');
  await refusedOnce(t, file, "import { startFleet } from '@iot-hub/device-sim';", /^no-restricted-imports: .*the hub depends only on @iot-hub\/protocol/, 'the hub-wide rule still holds in transports');
});

t.test('the hub depends on no workspace but protocol: not on its simulator or its demo', async (t) => {
  const file = 'hub/src/hub.ts';
  for (const from of ['@iot-hub/device-sim', '@iot-hub/demo', '@iot-hub/dashboard', '@iot-hub/engines', '../../bench/src/run.js']) {
    await refusedOnce(t, file, `import { x } from '${from}';`, /^no-restricted-imports: .*the hub depends only on @iot-hub\/protocol; the demo, simulator, dashboard and tooling depend on the hub, not the reverse\.$/, from);
  }
  t.same(await refusals(file, "import { x } from '@iot-hub/protocol';\nimport type { TelemetryStore } from './telemetry/telemetry-store.js';"), [], 'outside transports stores are fine');
});

t.test('the dashboard imports only @iot-hub/protocol of the other workspaces', async (t) => {
  const file = 'dashboard/src/data/any.ts';
  await refusedOnce(t, file, "import { buildHub } from '@iot-hub/hub';", /^no-restricted-imports: .*the dashboard imports only @iot-hub\/protocol of the other workspaces/);
  await refusedOnce(t, file, "import type { Hub } from '../../../hub/src/hub.js';", /^no-restricted-imports: .*the dashboard imports only @iot-hub\/protocol/);
  t.same(await refusals(file, "import { DASHBOARD_EVENT_KINDS, type DeviceView } from '@iot-hub/protocol';\nimport { LitElement } from 'lit';"), []);
});

t.test('only the entry points read the environment', async (t) => {
  const env = /^no-restricted-(properties|imports): .*only an entry point \(hub\/src\/main\.ts, the CLIs, the demo\) reads the environment/;
  for (const file of ['hub/src/config/load-config.ts', 'hub/src/transports/ws/any.ts', 'device-sim/src/fleet.ts', 'conformance/src/runner.ts', 'dashboard/src/data/any.ts']) {
    await refusedOnce(t, file, 'export const level = process.env.HUB_LOG_LEVEL;', env);
  }
  await refusedOnce(t, 'hub/src/log.ts', "import { env } from 'node:process';\nexport const x = env.X;", env, 'nor by importing env');
  for (const file of ['hub/src/main.ts', 'device-sim/src/cli.ts', 'conformance/src/cli.ts', 'demo/src/demo.ts', 'engines/src/cluster.ts', 'bench/src/run.ts', 'hub/test/any.test.ts']) {
    t.same(await refusals(file, 'export const level = process.env.HUB_LOG_LEVEL;'), [], file);
  }
});
