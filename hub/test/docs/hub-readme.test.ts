/**
 * hub/README.md names every folder of hub/src, so a new folder cannot go
 * undocumented, and names none that is gone; the files its reading path
 * and recipes point at exist.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { foldersUnder, read, ROOT } from './repo-files.js';

const hubReadme = read('hub/README.md');
/** The folder table's first column: `src/…/`. */
const documented = [...hubReadme.matchAll(/^\| `src\/([^`]*)` \|/gm)].map((m) => m[1]!.replace(/\/$/, ''));

t.test('every folder of hub/src is in the folder table', async (t) => {
  const folders = foldersUnder('hub/src');
  t.ok(folders.length >= 30, `${folders.length} folders`);
  for (const folder of folders) t.ok(documented.includes(folder), `src/${folder}/ is documented`);
});

t.test('the folder table names only folders that exist', async (t) => {
  for (const folder of documented) t.ok(existsSync(resolve(ROOT, 'hub/src', folder)), `src/${folder}/ exists`);
});

t.test('every file the page names exists', async (t) => {
  const files = [...hubReadme.matchAll(/`((?:\.\.\/)?(?:src|test|protocol\/src)\/[\w./-]+\.ts)`/g)].map((m) => m[1]!);
  t.ok(files.length >= 20, `${files.length} files named`);
  // protocol/… is named from the repository's root, the rest from hub/.
  for (const file of files) t.ok(existsSync(resolve(ROOT, file.startsWith('protocol/') ? '' : 'hub', file)), file);
});
