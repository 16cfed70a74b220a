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
