/**
 * Strict query strings for list routes: one value per parameter and no
 * unknown ones, so a typo (`?lable=`) is a 400 rather than a search that
 * silently widens to everything.
 */
import { ProtocolError } from '@iot-hub/protocol';

export function strictQuery<P extends string>(query: Record<string, unknown>, params: readonly P[]): Partial<Record<P, string>> {
  const out: Partial<Record<P, string>> = {};
  for (const [name, value] of Object.entries(query)) {
    const known = params.find((p) => p === name);
    if (!known) throw new ProtocolError('bad_request', `unknown query parameter ${JSON.stringify(name)}; use ${params.join(', ')}`);
    if (typeof value !== 'string') throw new ProtocolError('bad_request', `${name} must be given once`);
    out[known] = value;
  }
  return out;
}
