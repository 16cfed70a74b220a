/**
 * firmware-protocol.md read as a document: its lines, code fences, clause
 * headings and tables, for protocol/test/spec-sync.test.ts.
 */
import { readFileSync } from 'node:fs';

export const specText = readFileSync(new URL('../../../firmware-protocol.md', import.meta.url), 'utf8');

export interface Fence {
  /** 1-based line of the opening ``` */
  line: number;
  lang: string;
  /** Words after the language: the example's label and attributes. */
  info: string[];
  body: string;
}

export const lines = specText.split('\n');
export const fences: Fence[] = [];
export const inFence: boolean[] = [];
{
  let open: { line: number; lang: string; info: string[]; body: string[] } | null = null;
  lines.forEach((text, i) => {
    if (open === null) {
      const m = /^```(\S*)\s*(.*)$/.exec(text);
      inFence.push(m !== null);
      if (m) open = { line: i + 1, lang: m[1] ?? '', info: (m[2] ?? '').split(/\s+/).filter(Boolean), body: [] };
      return;
    }
    inFence.push(true);
    if (/^```\s*$/.test(text)) {
      fences.push({ line: open.line, lang: open.lang, info: open.info, body: open.body.join('\n') });
      open = null;
    } else {
      open.body.push(text);
    }
  });
}

interface Heading {
  index: number;
  level: number;
  clause: string;
}
export const headings: Heading[] = [];
lines.forEach((text, index) => {
  const m = /^(#{1,6}) (FP-\d+(?:\.\d+)?) /.exec(text);
  if (m && !inFence[index]) headings.push({ index, level: m[1]!.length, clause: m[2]! });
});

/** Lines of a clause, including its sub-clauses. */
export function section(clause: string): { from: number; to: number } {
  const head = headings.find((h) => h.clause === clause);
  if (!head) throw new Error(`firmware-protocol.md has no heading for ${clause}`);
  const next = headings.find((h) => h.index > head.index && h.level <= head.level);
  return { from: head.index, to: next ? next.index : lines.length };
}

interface Table {
  line: number;
  header: string[];
  rows: Record<string, string>[];
}

function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim());
}

function tablesIn(clause: string): Table[] {
  const { from, to } = section(clause);
  const tables: Table[] = [];
  let i = from;
  while (i < to) {
    if (inFence[i] || !lines[i]!.trimStart().startsWith('|')) {
      i++;
      continue;
    }
    const header = cells(lines[i]!);
    const rows: Record<string, string>[] = [];
    const line = i + 1;
    i += 2; // header and the --- separator
    while (i < to && lines[i]!.trimStart().startsWith('|')) {
      const values = cells(lines[i]!);
      rows.push(Object.fromEntries(header.map((h, k) => [h, values[k] ?? ''])));
      i++;
    }
    tables.push({ line, header, rows });
  }
  return tables;
}

/** The table in a clause whose first column is titled `firstColumn`. */
export function table(clause: string, firstColumn: string): Table {
  const found = tablesIn(clause).find((tb) => tb.header[0] === firstColumn);
  if (!found) throw new Error(`${clause} has no table whose first column is "${firstColumn}"`);
  return found;
}

/** `foo` → foo; anything else → null. */
export function code(cell: string): string | null {
  const m = /^`([^`]+)`$/.exec(cell);
  return m ? m[1]! : null;
}

export function leadingNumber(cell: string): number | null {
  const m = /^-?\d+(?:\.\d+)?/.exec(cell);
  return m ? Number(m[0]) : null;
}

