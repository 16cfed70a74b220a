/**
 * docs/configuration.md's settings table lists every setting the hub
 * accepts, with its env var and default, and no other; the metrics pages
 * name every metric that counts a refusal, a limit or a drop, and every
 * cluster metric. The settings table in code is the source: a new setting
 * fails here until its row is written.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SETTINGS } from '@iot-hub/hub';

const root = resolve(import.meta.dirname, '../../..');
const read = (path: string): string => readFileSync(resolve(root, path), 'utf8');
const configuration = read('docs/configuration.md');

/** The rows of the settings table: flag → [env cell, default cell]. */
function documentedSettings(): Map<string, { env: string; default: string }> {
  const rows = new Map<string, { env: string; default: string }>();
  for (const m of configuration.matchAll(/^\| `--([a-z-]+)` \|([^|]*)\|([^|]*)\|/gm)) {
    rows.set(m[1]!, { env: m[2]!.trim(), default: m[3]!.trim() });
  }
  return rows;
}

t.test('every setting is documented with its flag and env var', async (t) => {
  const rows = documentedSettings();
  for (const s of SETTINGS) t.equal(rows.get(s.flag)?.env, `\`${s.env}\``, s.flag);
});

t.test('the table documents no setting that does not exist', async (t) => {
  t.same([...documentedSettings().keys()].sort(), SETTINGS.map((s) => s.flag).sort());
});

t.test('every documented default is the default in code', async (t) => {
  const rows = documentedSettings();
  // A null default is computed or generated at start: the cell says how, in words.
  for (const s of SETTINGS.filter((s) => s.default !== null)) {
    t.equal(rows.get(s.flag)?.default.replaceAll('`', ''), s.default, s.flag);
  }
});

t.test('every metric that counts a refusal, a limit or a drop is in docs/limits.md or docs/security.md', async (t) => {
  const docs = read('docs/limits.md') + read('docs/security.md');
  const sources = ['metrics.ts', 'limits/limit-metrics.ts'].map((f) => read(`hub/src/${f}`)).join('\n');
  const names = [...new Set([...sources.matchAll(/'(iot_hub_[a-z_]+)'/g)].map((m) => m[1]!))];
  const limitLike = names.filter((n) => /refused|limited|suppressed|timeouts|closed|overflows|oversized|dropped|locks|locked|disconnects|uncaught|protocol_errors|unauthenticated/.test(n));
  t.ok(limitLike.length >= 15, `found the limit metrics in the sources (${limitLike.length})`);
  for (const name of limitLike) t.match(docs, name, `${name} is documented`);
});

t.test('every cluster, bus and PostgreSQL metric is in docs/cluster.md', async (t) => {
  const cluster = read('docs/cluster.md');
  const sources = ['cluster/cluster-metrics.ts', 'cluster/bus/bus-metrics.ts'].map((f) => read(`hub/src/${f}`)).join('\n');
  const names = [...new Set([...sources.matchAll(/'(iot_hub_(?:cluster|bus|pg)_[a-z_]+)'/g)].map((m) => m[1]!))];
  t.ok(names.length >= 30, `found the cluster metrics in the sources (${names.length})`);
  for (const name of names) t.match(cluster, `\`${name}`, `${name} is documented`);
});
