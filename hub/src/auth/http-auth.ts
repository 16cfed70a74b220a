/**
 * The small pieces of HTTP that authentication needs: the session cookie
 * (read and written by hand: one cookie does not need a cookie library) and
 * the Origin check shared by the API's CSRF guard and the dashboard socket.
 */
export const SESSION_COOKIE = 'hub_session';

/** Value of one cookie in a `Cookie` header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value === '' ? null : value;
  }
  return null;
}

/**
 * HttpOnly: page scripts (and so an injected one) cannot read it.
 * SameSite=Strict: a cross-site page's requests go without it. Secure with TLS.
 */
export function sessionCookie(id: string, maxAgeSec: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}

/** Same origin as the Host the browser reached, or listed in --allowed-origins. */
export function originAllowed(origin: string, host: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
