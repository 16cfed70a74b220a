/** Small parts of commands: the id format and order, and the /metrics series they feed. */
import t from 'tap';
import { CommandIdGenerator } from '../../src/commands/command-id.js';
import { createMetrics, type MetricSources } from '../../src/metrics.js';

t.test('command ids: cmd_ + 26 base32 characters, increasing with time and within one millisecond', async (t) => {
  const ids = new CommandIdGenerator();
  const now = Date.UTC(2026, 10, 25, 12, 0, 0);
  const a = ids.next(now);
  const b = ids.next(now);
  const c = ids.next(now - 5);
  const d = ids.next(now + 1);
  for (const id of [a, b, c, d]) t.match(id, /^cmd_[0-9A-HJKMNP-TV-Z]{26}$/);
  t.equal(a.length, 30);
  t.ok(a < b && b < c && c < d, 'strictly increasing, even when the clock steps back');
  t.equal(a.slice(0, 14), b.slice(0, 14), 'same time part within a millisecond');
  t.equal(new CommandIdGenerator().next(0).slice(4, 14), '0000000000');
  const other = new CommandIdGenerator().next(now);
  t.not(other, a, 'random part differs between generators');
});

t.test('metrics: commands by state and device results by status and disposition', async (t) => {
  const zero = { oversizedPackets: 0, refusedConnects: 0, droppedPublishes: 0, refusedSubscriptions: 0, refusedUpgrades: 0, oversizedFrames: 0, droppedEvents: 0, slowDisconnects: 0, outboundOverflows: 0 };
  const sources = {
    registry: { all: () => [][Symbol.iterator]() },
    gateway: { countByTransport: () => ({ mqtt: 0, ws: 0 }), errorCounts: new Map(), messageCounts: { in: { mqtt: 0, ws: 0 }, out: { mqtt: 0, ws: 0 } } },
    pipeline: { written: 0, failedWrites: 0, onWrite: null },
    store: {},
    mqtt: { counters: zero, toolCount: 0 },
    wsDevices: { counters: zero },
    dashboards: { connectionCount: 0, counters: zero, limits: { refused: {} } },
    commands: {
      countByState: async () => ({ queued: 2, sent: 1, succeeded: 7, timed_out: 0 }),
      resultCounts: new Map([
        ['applied:succeeded', 7],
        ['late:failed', 1],
      ]),
    },
  } as unknown as MetricSources;
  const text = await createMetrics(sources).render();
  t.match(text, /^iot_hub_commands\{state="queued"\} 2$/m);
  t.match(text, /^iot_hub_commands\{state="succeeded"\} 7$/m);
  t.match(text, /^iot_hub_commands\{state="timed_out"\} 0$/m);
  t.match(text, /^iot_hub_command_results_total\{status="succeeded",disposition="applied"\} 7$/m);
  t.match(text, /^iot_hub_command_results_total\{status="failed",disposition="late"\} 1$/m);
});
