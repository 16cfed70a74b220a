/**
 * Every relative link in the project's Markdown reaches a file that exists
 * and, when it names an anchor, a heading of that file: moving a section
 * from one page to another cannot leave a dead link behind.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { dirname, posix, resolve } from 'node:path';
import { anchors, filesUnder, read, relativeLinks, ROOT } from './repo-files.js';

/** The pages checked: the README, docs/, the protocol spec, each package's README (bench/README.md is the bench's own report). */
const PAGES = ['README.md', 'firmware-protocol.md', 'hub/README.md', 'examples/c-device/README.md', ...filesUnder('docs', ['.md'])];

t.test('the pages exist', async (t) => {
  for (const page of PAGES) t.ok(existsSync(resolve(ROOT, page)), page);
  t.ok(PAGES.length >= 12, `${PAGES.length} pages`);
});

for (const page of PAGES) {
  t.test(`links in ${page}`, async (t) => {
    const links = relativeLinks(read(page));
    for (const link of links) {
      const [path = '', anchor] = link.split('#');
      const target = path === '' ? page : posix.normalize(posix.join(dirname(page), path));
      t.ok(existsSync(resolve(ROOT, target)), `${link}: ${target} exists`);
      if (anchor !== undefined && target.endsWith('.md') && existsSync(resolve(ROOT, target))) {
        t.ok(anchors(read(target)).has(anchor), `${link}: ${target} has a heading #${anchor}`);
      }
    }
  });
}

t.test('anchors are computed as GitHub does', async (t) => {
  const page = '# Title\n## FP-7.2 Field limits\n```sh\n# a comment\n```\n## `cluster.state` and more\n## Title\n';
  t.same([...anchors(page)], ['title', 'fp-72-field-limits', 'clusterstate-and-more', 'title-1']);
});
