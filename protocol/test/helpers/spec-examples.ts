/**
 * The examples in firmware-protocol.md: labelled ```json fences and the
 * messages inside the session transcripts, parsed for
 * protocol/test/spec-sync.test.ts.
 */
import { fences, type Fence } from './spec-document.js';

export type From = 'device' | 'hub';
export interface Example {
  where: string;
  from: From;
  transport: 'mqtt' | 'ws';
  /** The type the label names; for transcript lines the type is derived. */
  type?: string;
  topic?: string;
  attrs: Record<string, string>;
  json: string;
  rejected?: string;
}

/** Splits `... {json} rest` at the end of the first balanced JSON object. */
export function splitJson(text: string): { before: string; json: string; rest: string } | null {
  const start = text.indexOf('{');
  if (start < 0) return null;
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      return { before: text.slice(0, start), json: text.slice(start, i + 1), rest: text.slice(i + 1) };
    }
  }
  return null;
}

export function attributes(words: string[]): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq > 0) attrs[word.slice(0, eq)] = word.slice(eq + 1);
    else attrs[word] = '';
  }
  return attrs;
}

export const labelProblems: string[] = [];
export const fenceExamples: Example[] = [];
for (const fence of fences.filter((f) => f.lang === 'json')) {
  const where = `firmware-protocol.md:${fence.line}`;
  const [label = '', ...rest] = fence.info;
  const m = /^(device|hub)-([a-z]+)$/.exec(label);
  const attrs = attributes(rest);
  const transport = 'mqtt' in attrs ? 'mqtt' : 'ws' in attrs ? 'ws' : null;
  if (!m || !transport) {
    labelProblems.push(`${where}: label "${fence.info.join(' ')}" is not "device-<type>|hub-<type> mqtt=<topic>|ws"`);
    continue;
  }
  fenceExamples.push({
    where,
    from: m[1] as From,
    type: m[2],
    transport,
    topic: attrs.mqtt,
    attrs,
    json: fence.body,
    rejected: attrs.rejected,
  });
}

export interface Session {
  where: string;
  transport: 'mqtt' | 'ws';
  text: string;
  /** Device and hub messages in order. */
  messages: Example[];
}

export function parseSession(fence: Fence, transport: 'mqtt' | 'ws'): Session {
  const messages: Example[] = [];
  fence.body.split('\n').forEach((text, k) => {
    const where = `firmware-protocol.md:${fence.line + 1 + k}`;
    const arrow = /^\s*(→|←)\s*(.*)$/.exec(text);
    const will = /^\s*will: topic=(\S+) (.*)$/.exec(text);
    let from: From;
    let payload: string;
    let topic: string | undefined;
    if (will) {
      from = 'device';
      topic = will[1];
      payload = will[2]!.replace(/^.*payload=/, '');
    } else if (arrow) {
      from = arrow[1] === '→' ? 'device' : 'hub';
      const body = arrow[2]!;
      if (transport === 'mqtt') {
        const pub = /^PUBLISH\s+(\S+)\s+(.*)$/.exec(body);
        if (!pub) return;
        topic = pub[1];
        payload = pub[2]!;
      } else {
        if (!body.startsWith('{')) return;
        payload = body;
      }
    } else {
      return;
    }
    const split = splitJson(payload);
    if (!split) throw new Error(`${where}: no JSON message in "${text}"`);
    const rejected = /\(rejected: (\w+)\)/.exec(split.rest);
    messages.push({
      where,
      from,
      transport,
      topic,
      attrs: attributes(split.before.split(/\s+/).filter(Boolean)),
      json: split.json,
      rejected: rejected ? rejected[1] : undefined,
    });
  });
  return { where: `firmware-protocol.md:${fence.line}`, transport, text: fence.body, messages };
}

export const sessions: Session[] = fences
  .filter((f) => f.lang === 'text' && (f.info[0] === 'session-mqtt' || f.info[0] === 'session-ws'))
  .map((f) => parseSession(f, f.info[0] === 'session-mqtt' ? 'mqtt' : 'ws'));

export const allExamples: Example[] = [...fenceExamples, ...sessions.flatMap((s) => s.messages)];

