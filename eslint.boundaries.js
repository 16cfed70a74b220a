// The architecture's boundaries, held by lint rather than by convention
// (issue 23). Each block names who may not import what, and why. ESLint
// replaces a rule's options per block rather than merging them, so every
// block lists all the restrictions of the files it matches.
import { builtinModules } from 'node:module';

const WORKSPACES = ['protocol', 'hub', 'device-sim', 'demo', 'dashboard', 'bench', 'conformance', 'engines'];

/** Import patterns that reach into a workspace, by package name or by a relative path. */
function workspace(name) {
  return [`@iot-hub/${name}`, `@iot-hub/${name}/*`, `**/${name}/src/**`, `**/${name}/dist/**`];
}

function workspacesBut(...allowed) {
  return WORKSPACES.filter((name) => !allowed.includes(name)).flatMap(workspace);
}

// protocol/ is shared by the hub, the simulator, the dashboard and firmware
// tooling: it must load in a browser, so no Node module and no other workspace.
const protocolIsolated = [
  { group: workspacesBut('protocol'), message: 'protocol/ is the shared contract: it imports no other workspace.' },
  { group: ['node:*'], message: 'protocol/ runs in browsers too: no Node modules.' },
];
const noBareBuiltins = builtinModules.map((name) => ({ name, message: 'protocol/ runs in browsers too: no Node modules.' }));

// The product must not depend on its simulator, its demo, its dashboard
// sources or its tooling: the arrows point from those to the hub.
const hubOwnWorkspace = [
  { group: workspacesBut('protocol', 'hub'), message: 'the hub depends only on @iot-hub/protocol; the demo, simulator, dashboard and tooling depend on the hub, not the reverse.' },
];

// Transports turn bytes into protocol messages and hand them to the device
// gateway; what is stored, and where, is behind it. A transport that reached
// a store could write around the gateway's checks (auth, sequence, limits).
const transportsNoStores = [
  {
    group: ['**/db/**', '**/*-store', '**/*-store.js', '**/sqlite-*', '**/telemetry/**', '**/cluster/pg/**', 'better-sqlite3', 'pg', 'ioredis', 'influx'],
    message: 'transports hand messages to the device gateway (core/); they import no store, database or telemetry module.',
  },
];

// The dashboard is browser code: it speaks to the hub over HTTP and the
// dashboard socket, with the wire types of @iot-hub/protocol, never hub code.
const dashboardClientOnly = [
  { group: workspacesBut('protocol', 'dashboard'), message: 'the dashboard imports only @iot-hub/protocol of the other workspaces: it talks to the hub over HTTP and WebSocket.' },
];

// Configuration is read once, validated and frozen (config/settings.ts), then
// passed in: only an entry point reads the environment.
const ENV_MESSAGE = 'only an entry point (hub/src/main.ts, the CLIs, the demo) reads the environment; take the value from the frozen config.';
const noEnvProperty = ['error', { object: 'process', property: 'env', message: ENV_MESSAGE }];
const noEnvImport = [
  { name: 'node:process', importNames: ['env'], message: ENV_MESSAGE },
  { name: 'process', importNames: ['env'], message: ENV_MESSAGE },
];
const ENTRY_POINTS = ['hub/src/main.ts', 'device-sim/src/cli.ts', 'conformance/src/cli.ts', 'demo/src/demo.ts'];

export const boundaries = [
  {
    files: ['protocol/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: noBareBuiltins, patterns: protocolIsolated }],
      'no-restricted-properties': noEnvProperty,
    },
  },
  {
    files: ['hub/src/**/*.ts'],
    ignores: ['hub/src/transports/**'],
    rules: { 'no-restricted-imports': ['error', { paths: noEnvImport, patterns: hubOwnWorkspace }] },
  },
  {
    files: ['hub/src/transports/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: noEnvImport, patterns: [...hubOwnWorkspace, ...transportsNoStores] }] },
  },
  {
    files: ['dashboard/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: noEnvImport, patterns: dashboardClientOnly }],
      'no-restricted-properties': noEnvProperty,
    },
  },
  {
    files: ['hub/src/**/*.ts', 'device-sim/src/**/*.ts', 'conformance/src/**/*.ts', 'demo/src/**/*.ts'],
    ignores: ENTRY_POINTS,
    rules: { 'no-restricted-properties': noEnvProperty },
  },
];
