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

/** Who may send cookie-authenticated changes and open the dashboard socket. */
export interface OriginPolicy {
  /** --allowed-origins: the hub's public origin(s) and other trusted pages, as `scheme://host[:port]`. */
  allowed: readonly string[];
  /** TLS is on: the hub's own pages are https. */
  secure: boolean;
}

/** IP literals and localhost name the hub by address: DNS rebinding cannot put them in a page's Origin. */
function namesByAddress(hostname: string): boolean {
  return hostname === 'localhost' || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.startsWith('[');
}

/**
 * An origin listed in --allowed-origins, or the hub's own: the scheme it is
 * served with (http, https with TLS) and the Host the browser reached. Once
 * public origins are configured, a Host that is a DNS name must be one of
 * them: a page that rebinds its own name to the hub sends that name as both
 * Host and Origin, so the Host alone proves nothing.
 */
export function originAllowed(origin: string, host: string | undefined, policy: OriginPolicy): boolean {
  if (policy.allowed.includes(origin)) return true;
  if (host === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== (policy.secure ? 'https:' : 'http:') || url.host !== host.toLowerCase()) return false;
  return policy.allowed.length === 0 || namesByAddress(url.hostname);
}
