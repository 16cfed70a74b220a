/**
 * The repository's own text files and Markdown structure, for the tests
 * that keep the docs honest: walking the tree (without git, so the tests
 * run from any checkout), and a Markdown page's headings and links.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');

/** Build output, installs, runtime data and reports: not the project's own text. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'data', 'test-artifacts', '.git', '.tap', 'build', 'coverage']);

export function read(path: string): string {
  return readFileSync(resolve(ROOT, path), 'utf8');
}

/** Paths (relative to the repository, `/`-separated) of files under `dir` whose name ends in one of `exts`. */
export function filesUnder(dir: string, exts: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (abs: string): void => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(join(abs, entry.name));
      } else if (exts.some((ext) => entry.name.endsWith(ext))) {
        out.push(relative(ROOT, join(abs, entry.name)).split('\\').join('/'));
      }
    }
  };
  walk(resolve(ROOT, dir));
  return out.sort();
}

/** Folders under `dir`, relative to it, `/`-separated, without a trailing slash. */
export function foldersUnder(dir: string): string[] {
  const base = resolve(ROOT, dir);
  const out: string[] = [];
  const walk = (abs: string): void => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      if (!entry.isDirectory() || SKIPPED_DIRS.has(entry.name)) continue;
      out.push(relative(base, join(abs, entry.name)).split('\\').join('/'));
      walk(join(abs, entry.name));
    }
  };
  walk(base);
  return out.sort();
}

/** The Markdown with fenced code blocks blanked out: a `#` or `[x](y)` in a code sample is neither heading nor link. */
function withoutCode(markdown: string): string {
  let fenced = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (/^\s*```/.test(line)) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line;
    })
    .join('\n');
}

/**
 * The anchors GitHub gives a page's headings: lowercased, punctuation but
 * `-` and `_` dropped, spaces turned into `-`, a repeated one suffixed -1, -2 ….
 */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of withoutCode(markdown).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const text = m[1]!.replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

/** The relative links of a page (no scheme, no mailto), as written: `path#anchor`, `#anchor` or `path`. */
export function relativeLinks(markdown: string): string[] {
  // Inline code spans hold patterns and examples such as `[^x](?:y)`, never links.
  const prose = withoutCode(markdown).replace(/`[^`\n]*`/g, '``');
  const links = [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
  return links.filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l));
}
