/**
 * The short WebSocket wire fuzz (the long one is `npm run fuzz -- --target
 * ws-device,ws-dashboard`): seeded raw upgrades and frames against
 * /ws/device and /ws/dashboard of a hub child process, sessions ending in a
 * close frame, a FIN or a reset, while three control devices stream QoS 1
 * telemetry. The hub stays up, never accepts an upgrade it must refuse, never
 * answers input with its own failure, every control seq is stored exactly
 * once and the end RSS stays within RSS_FACTOR × the baseline.
 * `FUZZ_SEED=<n>` replays a run.
 */
import t from 'tap';
import { runSeed } from '../../../protocol/test/helpers/fuzz-mutations.js';
import { RSS_FACTOR, fuzzProblems } from '../fuzz/fuzz-checks.js';
import { runFuzz } from '../fuzz/fuzz-harness.js';
import { wsDashboardTarget, wsDeviceTarget } from '../fuzz/ws-fuzz.js';

const RUN_SEED = runSeed(0x7f0224);
const PACKETS = 1500;

for (const target of [wsDeviceTarget, wsDashboardTarget]) {
  t.test(`${PACKETS} seeded raw WebSocket upgrades and frames on ${target.name} leave the hub up and the control group whole (seed ${RUN_SEED})`, async (t) => {
    const report = await runFuzz(target, { seed: RUN_SEED, packets: PACKETS, settleMs: 2000 });
    const figures = `${report.packetsSent} packets in ${report.seconds} s, ${report.sessions} sessions, ${report.connectRefused} upgrades refused, ${report.closedByHub} closed by the hub; answers ${JSON.stringify(report.answers)}; RSS kB ${JSON.stringify(report.rssKb)}`;
    t.ok(report.packetsSent >= PACKETS, `every packet was sent (${figures})`);
    t.ok(report.connectRefused > 0 && report.answers['http 101']! > 0, 'some upgrades were refused and some accepted');
    t.ok(report.closedByHub > 0, 'the hub closed sessions that broke the framing');
    t.same(fuzzProblems(report), [], `hub up, /healthz 200, no hub failure on input, control seqs stored exactly once, end RSS within ${RSS_FACTOR}× baseline`);
    t.same(report.hubErrors.slice(0, 5), [], 'the hub logged no errors');
  });
}
