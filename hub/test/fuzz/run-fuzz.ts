/**
 * `npm run fuzz`: the long wire fuzz against a built hub, one target after another.
 *   node --import=tsx hub/test/fuzz/run-fuzz.ts [--target mqtt,ws-device,ws-dashboard,http] [--packets 100000] [--seed N] [--workers 8]
 * Prints the seed first (`--seed` replays it), then each target's figures as
 * JSON; exits 1 when, for any target, the hub died, /healthz failed, a
 * control seq was lost or duplicated, the hub answered input with its own
 * failure (5xx, close 1011), or the end RSS is above RSS_FACTOR × the baseline.
 */
import { parseArgs } from 'node:util';
import { RSS_FACTOR, fuzzProblems } from './fuzz-checks.js';
import { runFuzz, type FuzzTarget } from './fuzz-harness.js';
import { httpTarget } from './http-fuzz.js';
import { mqttTarget } from './mqtt-fuzz.js';
import { wsDashboardTarget, wsDeviceTarget } from './ws-fuzz.js';

const TARGETS: Record<string, FuzzTarget> = { mqtt: mqttTarget, 'ws-device': wsDeviceTarget, 'ws-dashboard': wsDashboardTarget, http: httpTarget };

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: Object.keys(TARGETS).join(',') },
    packets: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    workers: { type: 'string', default: '8' },
  },
});
const names = values.target.split(',').map((s) => s.trim());
const unknown = names.filter((n) => !(n in TARGETS));
if (unknown.length > 0) {
  console.error(`unknown --target ${unknown.join(', ')}: choose from ${Object.keys(TARGETS).join(', ')}`);
  process.exit(2);
}
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : Math.floor(Math.random() * 2 ** 32);
console.log(`fuzz seed ${seed} (replay: npm run fuzz -- --seed ${seed} --packets ${values.packets} --target ${names.join(',')})`);
let failed = false;
for (const name of names) {
  const report = await runFuzz(TARGETS[name]!, { seed, packets: Number(values.packets), workers: Number(values.workers), log: (l) => console.log(l) });
  console.log(JSON.stringify(report, null, 2));
  const problems = fuzzProblems(report);
  console.log(problems.length === 0 ? `${name} ok: hub up, control intact, no hub failure on input, end RSS within ${RSS_FACTOR}× baseline` : `${name} FAILED:\n  ${problems.join('\n  ')}`);
  failed ||= problems.length > 0;
}
process.exitCode = failed ? 1 : 0;
