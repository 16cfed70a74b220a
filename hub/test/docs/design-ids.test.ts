/**
 * The guarantees of docs/design.md have stable ids ([G1] …) that source
 * comments, tests and docs cite. Every id is defined once there, every id
 * cited anywhere exists, and no code cites a guarantee by a bare number
 * (the word and a digit), which is how two numberings drifted apart.
 */
import t from 'tap';
import { filesUnder, read } from './repo-files.js';

const design = read('docs/design.md');
const DEFINITION = /^- \*\*\[G(\d+)\] /gm;
const CITATION = /\[G(\d+)\]/g;

const PACKAGES = ['protocol', 'hub', 'device-sim', 'dashboard', 'conformance', 'engines', 'bench', 'examples'];
const CODE = ['.ts', '.js', '.c', '.h'];
const codeFiles = PACKAGES.flatMap((dir) => filesUnder(dir, CODE));
const docFiles = ['README.md', 'firmware-protocol.md', ...filesUnder('docs', ['.md']), ...PACKAGES.flatMap((dir) => filesUnder(dir, ['.md']))];

t.test('every guarantee id is defined once in docs/design.md', async (t) => {
  const ids = [...design.matchAll(DEFINITION)].map((m) => Number(m[1]));
  t.ok(ids.length >= 7, `${ids.length} guarantees`);
  t.same(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'no id defined twice');
});

t.test('every cited guarantee id exists in docs/design.md', async (t) => {
  const defined = new Set([...design.matchAll(DEFINITION)].map((m) => Number(m[1])));
  let citations = 0;
  for (const file of [...codeFiles, ...docFiles]) {
    for (const m of read(file).matchAll(CITATION)) {
      citations++;
      t.ok(defined.has(Number(m[1])), `${file} cites [G${m[1]}]`);
    }
  }
  t.ok(citations >= 20, `${citations} citations found`);
});

t.test('no code cites a guarantee by a bare number', async (t) => {
  const bare = /\b(?:invariant|guarantee)s? \d/i;
  const offenders = codeFiles.filter((file) => bare.test(read(file)));
  t.same(offenders, [], 'cite [Gn] from docs/design.md instead');
});
