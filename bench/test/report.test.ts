/**
 * `npm run bench -- report`: the scoreboard is a pure function of the
 * result files (the latest per benchmark), and bench/README.md's
 * scoreboard is exactly what it produces from bench/results/, so nobody
 * retypes a figure and a published result cannot go unreported.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCOREBOARD_NAMES } from '../src/benchmarks.js';
import { README, readResults, reportOf, writeReport } from '../src/lib/report.js';
import { boundRow, printedRow, ratioRow, scoreboardIn, SCOREBOARD_END, SCOREBOARD_START, spliceScoreboard, type ScoredResult } from '../src/lib/scoreboard.js';

const machine = { cores: 2, cpuModel: 'AMD EPYC 7B13 ', memoryGB: 23.5, node: 'v20.20.2', platform: 'linux x64', loadAvgAtStart: [0.5, 0.4, 0.3] };
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function result(benchmark: string, startedAt: string, rows: ScoredResult['rows']): ScoredResult {
  return { benchmark, startedAt, command: `npm run bench -- ${benchmark}`, machine, rows };
}

function fixtureDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, body: unknown): void => writeFileSync(join(dir, name), JSON.stringify(body));
  write('relay.json', result('relay', '2026-12-06T08:00:00.000Z', [ratioRow('relay 100 → 1 QoS 0, msgs/s', 40_000, 50_000, 'bare aedes', int, { atLeast: 0.8 })]));
  // An older relay run under another name: the newer one above wins.
  write('relay-2026-12-01T00-00-00-000Z.json', result('relay', '2026-12-01T00:00:00.000Z', [ratioRow('relay old', 1, 2, 'bare aedes', int, { atLeast: 0.8 })]));
  write('latency.json', result('latency', '2026-12-06T09:30:59.000Z', [
    boundRow('latency 5,000 msgs/s: publish → PUBACK p99', 25.04, (n) => `${n.toFixed(1)} ms`, { atMost: 20 }),
    printedRow('latency | piped', '1.0 ms', 'Mosquitto 0.5 ms', 2, 'not judged'),
  ]));
  // A result from before the scoreboard (no rows): skipped, not an error.
  write('cluster-2026-12-06T07-29-49-110Z.json', { benchmark: 'cluster', startedAt: '2026-12-06T07:29:49.110Z', machine });
  return dir;
}

t.test('the report of a results fixture', async (t) => {
  const dir = fixtureDir(t);
  t.equal(readResults(dir).length, 3, 'the file without rows is skipped');
  t.equal(
    reportOf(['relay', 'latency', 'ingest'], dir),
    [
      '| benchmark | what | hub | peer (same run) | ratio | target | verdict | machine | date |',
      '| --- | --- | ---: | ---: | ---: | --- | --- | --- | --- |',
      '| relay | relay 100 → 1 QoS 0, msgs/s | 40,000 | bare aedes 50,000 | 0.80 | ≥ 0.8 × | met | 2 cores AMD EPYC 7B13, Node 20.20.2 | 2026-12-06 08:00 UTC |',
      '| latency | latency 5,000 msgs/s: publish → PUBACK p99 | 25.0 ms |  |  | ≤ 20.0 ms | missed | 2 cores AMD EPYC 7B13, Node 20.20.2 | 2026-12-06 09:30 UTC |',
      '| latency | latency \\| piped | 1.0 ms | Mosquitto 0.5 ms | 2.00 | not judged | printed | 2 cores AMD EPYC 7B13, Node 20.20.2 | 2026-12-06 09:30 UTC |',
      '',
      'No result yet in bench/results/ for: ingest.',
    ].join('\n'),
  );
});

t.test('rows judge their bounds and say when there is no figure', async (t) => {
  t.equal(ratioRow('r', 79, 100, 'peer', int, { atLeast: 0.8 }).verdict, 'missed');
  t.equal(ratioRow('r', 300, 100, 'peer', int, { atMost: 3 }).verdict, 'met');
  t.equal(ratioRow('r', 301, 100, 'peer', int, { atMost: 3 }).verdict, 'missed');
  t.same(ratioRow('r', 5, null, 'peer', int, { atMost: 3 }), { what: 'r', figure: '5', peer: 'peer -', ratio: null, target: '≤ 3 ×', verdict: 'no figure' });
  t.equal(boundRow('b', 0, int, { atMost: 0 }).verdict, 'met');
  t.equal(boundRow('b', null, int, { atMost: 0 }).verdict, 'no figure');
});

t.test('writing the report replaces only the part between the markers', async (t) => {
  const dir = fixtureDir(t);
  const readme = join(dir, 'README.md');
  writeFileSync(readme, `# Bench\n\nbefore\n\n${SCOREBOARD_START}\n\nstale figures\n\n${SCOREBOARD_END}\n\nafter\n`);
  t.equal(writeReport(['relay'], dir, readme), true, 'changed');
  t.equal(readFileSync(readme, 'utf8'), `# Bench\n\nbefore\n\n${SCOREBOARD_START}\n\n${reportOf(['relay'], dir)}\n\n${SCOREBOARD_END}\n\nafter\n`);
  t.equal(writeReport(['relay'], dir, readme), false, 'a second run changes nothing');
  t.throws(() => spliceScoreboard('# no markers\n', 'x'), { message: /has no .* markers/ });
});

t.test("bench/README.md's scoreboard is what the report makes of bench/results/", async (t) => {
  const inReadme = scoreboardIn(readFileSync(README, 'utf8'));
  t.not(inReadme, null, 'the README has the scoreboard markers');
  t.equal(inReadme, reportOf(SCOREBOARD_NAMES), 'run `npm run bench -- report` after publishing a result');
});
