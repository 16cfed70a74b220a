/**
 * `npm run fuzz`: the long wire fuzz of issue 7 against a built hub.
 *   node --import=tsx hub/test/fuzz/run-fuzz.ts [--packets 100000] [--seed N] [--workers 8]
 * Prints the seed first (`--seed` replays it), then the figures as JSON;
 * exits 1 when the hub died, /healthz failed, a control seq was lost or
 * duplicated, or the end RSS is above RSS_FACTOR × the baseline.
 */
import { parseArgs } from 'node:util';
import { RSS_FACTOR, fuzzProblems } from './fuzz-checks.js';
import { runMqttFuzz } from './mqtt-fuzz.js';

const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    workers: { type: 'string', default: '8' },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : Math.floor(Math.random() * 2 ** 32);
console.log(`fuzz seed ${seed} (replay: npm run fuzz -- --seed ${seed} --packets ${values.packets})`);
const report = await runMqttFuzz({ seed, packets: Number(values.packets), workers: Number(values.workers), log: (l) => console.log(l) });
console.log(JSON.stringify(report, null, 2));
const problems = fuzzProblems(report);
console.log(problems.length === 0 ? `ok: hub up, control intact, end RSS within ${RSS_FACTOR}× baseline` : `FAILED:\n  ${problems.join('\n  ')}`);
process.exitCode = problems.length === 0 ? 0 : 1;
