/**
 * Device and admin tokens. Tokens are 32 random bytes (256 bits), so a plain
 * SHA-256 of them is enough to store: unlike passwords they cannot be
 * guessed, and a fast hash keeps thousands of reconnects per second cheap.
 * Comparison is constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function tokenMatches(token: string, storedHash: string): boolean {
  const actual = Buffer.from(hashToken(token), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
