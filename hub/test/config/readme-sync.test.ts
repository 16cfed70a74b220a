/** The README's configuration table lists every setting the hub accepts, and no other. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SETTINGS } from '@iot-hub/hub';

const readme = readFileSync(resolve(import.meta.dirname, '../../../README.md'), 'utf8');

t.test('every setting is documented with its flag and env var', async (t) => {
  for (const s of SETTINGS) {
    t.match(readme, new RegExp(`\\| \`--${s.flag}\` \\| \`${s.env}\` \\|`), s.flag);
  }
});

t.test('the table documents no setting that does not exist', async (t) => {
  const documented = [...readme.matchAll(/^\| `--([a-z-]+)` \|/gm)].map((m) => m[1]);
  t.same(documented.sort(), SETTINGS.map((s) => s.flag).sort());
});

t.test('the quick start is the two contract commands', async (t) => {
  t.match(readme, /```sh\nnpm ci && npm run demo\n```/);
  t.match(readme, /```sh\nnpm test\n```/);
});

t.test('every metric that counts a refusal, a limit or a drop is in the README', async (t) => {
  const sources = ['metrics.ts', 'limits/limit-metrics.ts'].map((f) => readFileSync(resolve(import.meta.dirname, '../../src', f), 'utf8')).join('\n');
  const names = [...new Set([...sources.matchAll(/'(iot_hub_[a-z_]+)'/g)].map((m) => m[1]!))];
  const limitLike = names.filter((n) => /refused|limited|suppressed|timeouts|closed|overflows|oversized|dropped|locks|locked|disconnects|uncaught|protocol_errors|unauthenticated/.test(n));
  t.ok(limitLike.length >= 15, `found the limit metrics in the sources (${limitLike.length})`);
  for (const name of limitLike) t.match(readme, name, `${name} is documented`);
});

t.test('every cluster, bus and PostgreSQL metric is in the README', async (t) => {
  const sources = ['cluster/cluster-metrics.ts', 'cluster/bus/bus-metrics.ts'].map((f) => readFileSync(resolve(import.meta.dirname, '../../src', f), 'utf8')).join('\n');
  const names = [...new Set([...sources.matchAll(/'(iot_hub_(?:cluster|bus|pg)_[a-z_]+)'/g)].map((m) => m[1]!))];
  t.ok(names.length >= 30, `found the cluster metrics in the sources (${names.length})`);
  for (const name of names) t.match(readme, `\`${name}`, `${name} is documented`);
});
