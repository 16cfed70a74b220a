/**
 * The admin bearer token until operator accounts exist (security issue):
 * from config, or generated at first start. Only its hash is kept in the
 * data dir; a generated token is returned once so main can print it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateToken, hashToken, tokenMatches } from './tokens.js';

export const ADMIN_TOKEN_FILE = 'admin-token.sha256';

export interface AdminAuth {
  verify(token: string): boolean;
  /** Set when the hub generated the token at this start: print it once. */
  generatedToken: string | null;
}

export function loadAdminAuth(dataDir: string, configured: string | null): AdminAuth {
  if (configured !== null) {
    const hash = hashToken(configured);
    return { verify: (token) => tokenMatches(token, hash), generatedToken: null };
  }
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) {
    const hash = readFileSync(file, 'utf8').trim();
    return { verify: (token) => tokenMatches(token, hash), generatedToken: null };
  }
  const token = generateToken();
  const hash = hashToken(token);
  writeFileSync(file, hash + '\n', { mode: 0o600 });
  return { verify: (t) => tokenMatches(t, hash), generatedToken: token };
}

/** Token from `Authorization: Bearer <token>`; null when absent or another scheme. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}
