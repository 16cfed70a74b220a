/**
 * Who opens a dashboard socket, and whether that credential still works
 * when the socket is checked again (after a revocation here or on another
 * node, and on every heartbeat). Both read the account store, never a copy,
 * so a socket outlives a revoked credential by at most one recheck.
 */
import type { Accounts } from './accounts.js';
import { SESSION_COOKIE, readCookie } from './http-auth.js';
import type { Principal } from './roles.js';

export interface SocketCredential {
  principal: Principal;
  stillValid: () => Promise<boolean>;
}

/** A bearer token (header or subprotocol) first, else the session cookie; null when neither works. */
export function socketAuthenticator(accounts: Accounts): (token: string | null, cookie: string | undefined) => Promise<SocketCredential | null> {
  return async (token, cookie) => {
    if (token !== null) {
      const principal = await accounts.bearer(token);
      return principal && { principal, stillValid: async () => (await accounts.bearer(token)) !== null };
    }
    const sessionId = readCookie(cookie, SESSION_COOKIE);
    if (sessionId === null) return null;
    const principal = (await accounts.session(sessionId))?.principal ?? null;
    // touch false: an open socket is not a use, so it does not keep the session from idling out.
    return principal && { principal, stillValid: async () => (await accounts.session(sessionId, Date.now(), false)) !== null };
  };
}
