import { existsSync } from 'node:fs';

/**
 * The binary's path, or an error naming the Debian package to install. The
 * caller decides: tests fail under CI=true and skip loudly otherwise.
 */
export function requireBinary(path: string, debianPackage: string): string {
  if (!existsSync(path)) throw new MissingEngineError(`${path} is missing: install the Debian package ${debianPackage} (.ci/run does)`);
  return path;
}

export class MissingEngineError extends Error {
  override readonly name = 'MissingEngineError';
}
