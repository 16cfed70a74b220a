/**
 * Outsider input (topics, client and device ids, origins, URLs, messages)
 * reaches logs and error texts cut to a bounded length, so one request
 * cannot make kilobytes of output however long what it sent. The logger
 * applies clipFields() to every line; code that builds an error text from
 * such input calls clip() itself.
 */

/** Longest rendering of one outsider-supplied string in a log field or error detail. */
export const CLIP_CHARS = 200;

/** `text` cut to `max` characters, saying how much was left out. */
export function clip(text: string, max = CLIP_CHARS): string {
  if (text.length <= max) return text;
  // Never end on half a surrogate pair.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}…(+${text.length - end} chars)`;
}

/**
 * A log line's fields with every string cut, looking into plain objects
 * and arrays a few levels down (a line's own structure, never deep).
 * Errors are left to the logger's serializer; their stack is the hub's own.
 */
export function clipFields(fields: Record<string, unknown>): Record<string, unknown> {
  return clipValue(fields, 0) as Record<string, unknown>;
}

const MAX_LEVELS = 4;
const MAX_ITEMS = 50;

function clipValue(value: unknown, level: number): unknown {
  if (typeof value === 'string') return value.length > CLIP_CHARS ? clip(value) : value;
  if (typeof value !== 'object' || value === null || value instanceof Error || level >= MAX_LEVELS) return value;
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => clipValue(v, level + 1));
    if (value.length > MAX_ITEMS) items.push(`…(+${value.length - MAX_ITEMS} items)`);
    return items;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  // Null prototype: a key named `__proto__` stays a plain field.
  const out = Object.create(null) as Record<string, unknown>;
  const entries = Object.entries(value);
  for (const [key, v] of entries.slice(0, MAX_ITEMS)) out[clip(key, 64)] = clipValue(v, level + 1);
  if (entries.length > MAX_ITEMS) out['…'] = `+${entries.length - MAX_ITEMS} fields`;
  return out;
}
