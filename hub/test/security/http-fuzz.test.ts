/**
 * The short HTTP API fuzz (the long one is `npm run fuzz -- --target http`):
 * seeded raw requests on every route, their parts mutated, and requests
 * broken on the wire, against a hub child process while three control
 * devices stream QoS 1 telemetry. The hub stays up, answers no request with
 * a 5xx other than 503, every control seq is stored exactly once and the end
 * RSS stays within RSS_FACTOR × the baseline. `FUZZ_SEED=<n>` replays a run.
 */
import t from 'tap';
import { runSeed } from '../../../protocol/test/helpers/fuzz-mutations.js';
import { RSS_FACTOR, fuzzProblems } from '../fuzz/fuzz-checks.js';
import { runFuzz } from '../fuzz/fuzz-harness.js';
import { httpTarget } from '../fuzz/http-fuzz.js';

const RUN_SEED = runSeed(0x7f0225);
const REQUESTS = 1000;

t.test(`${REQUESTS} seeded raw HTTP requests leave the hub up and the control group whole (seed ${RUN_SEED})`, async (t) => {
  const report = await runFuzz(httpTarget, { seed: RUN_SEED, packets: REQUESTS, settleMs: 2000 });
  const figures = `${report.packetsSent} requests in ${report.seconds} s; answers ${JSON.stringify(report.answers)}; RSS kB ${JSON.stringify(report.rssKb)}`;
  t.ok(report.packetsSent >= REQUESTS, `every request was sent (${figures})`);
  t.ok((report.answers['http 200'] ?? 0) > 0 && Object.keys(report.answers).some((a) => /^http 4\d\d$/.test(a)), 'requests were served and refused');
  t.same(fuzzProblems(report), [], `hub up, /healthz 200, no 5xx but 503, control seqs stored exactly once, end RSS within ${RSS_FACTOR}× baseline`);
  t.same(report.hubErrors.slice(0, 5), [], 'the hub logged no errors');
});
