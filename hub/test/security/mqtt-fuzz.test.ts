/**
 * The short wire fuzz of issue 7 (the long one is `npm run fuzz`): 3,000
 * seeded raw MQTT packets (noise, broken framing, mutated JSON PUBLISHes)
 * against a hub child process while three control devices stream QoS 1
 * telemetry. The hub stays up, every control seq is stored exactly once and
 * the end RSS stays within RSS_FACTOR × the baseline. `FUZZ_SEED=<n>`
 * replays a run.
 */
import t from 'tap';
import { runSeed } from '../../../protocol/test/helpers/fuzz-mutations.js';
import { RSS_FACTOR, fuzzProblems } from '../fuzz/fuzz-checks.js';
import { runMqttFuzz } from '../fuzz/mqtt-fuzz.js';

const RUN_SEED = runSeed(0x7f0223);
const PACKETS = 3000;

t.test(`3,000 seeded raw MQTT packets leave the hub up and the control group whole (seed ${RUN_SEED})`, async (t) => {
  const report = await runMqttFuzz({ seed: RUN_SEED, packets: PACKETS, settleMs: 2000 });
  const figures = `${report.packetsSent} packets in ${report.seconds} s, ${report.sessions} sessions, ${report.closedByHub} closed by the hub; RSS kB ${JSON.stringify(report.rssKb)}`;
  t.ok(report.packetsSent >= PACKETS, `every packet was sent (${figures})`);
  t.ok(report.closedByHub > 0, 'the hub closed connections that broke the framing');
  t.ok(report.control.every((c) => c.sent > 0), 'every control device sent telemetry during the fuzz');
  t.same(fuzzProblems(report), [], `hub up, /healthz 200, control seqs stored exactly once, end RSS within ${RSS_FACTOR}× baseline`);
  t.same(report.hubErrors.slice(0, 5), [], 'the hub logged no errors');
});
