/**
 * Where the admin token lives in the browser: localStorage, seeded once from
 * a `#token=...` URL fragment (fragments never reach the server or its
 * logs), which is then removed from the address bar. Structural parameter
 * types keep this testable without a DOM.
 */

export const TOKEN_STORAGE_KEY = 'iot-hub.adminToken';

export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Splits `token=...` out of a fragment such as `#token=abc&view=x`; the rest
 * is kept. Parsed by hand because URLSearchParams would turn a `+` of a
 * base64 token into a space.
 */
export function takeTokenFromHash(hash: string): { token: string | null; hash: string } {
  const parts = (hash.startsWith('#') ? hash.slice(1) : hash).split('&');
  const index = parts.findIndex((part) => part.startsWith('token='));
  if (index === -1) return { token: null, hash };
  const [raw] = parts.splice(index, 1);
  let token: string;
  try {
    token = decodeURIComponent((raw ?? '').slice('token='.length)).trim();
  } catch {
    token = ''; // Malformed percent-encoding: treat as no token, but still strip it.
  }
  const rest = parts.filter((part) => part !== '').join('&');
  return { token: token === '' ? null : token, hash: rest === '' ? '' : `#${rest}` };
}

// Storage can throw (disabled storage, private modes, quota): the dashboard
// then works for this page load and asks again next time.
export function loadToken(storage: KeyValueStorage | undefined): string | null {
  try {
    return storage?.getItem(TOKEN_STORAGE_KEY) || null;
  } catch {
    return null;
  }
}

export function saveToken(storage: KeyValueStorage | undefined, token: string): void {
  try {
    storage?.setItem(TOKEN_STORAGE_KEY, token);
  } catch {
    // See above: kept in memory only.
  }
}

export function clearToken(storage: KeyValueStorage | undefined): void {
  try {
    storage?.removeItem(TOKEN_STORAGE_KEY);
  } catch {
    // Nothing stored, nothing to clear.
  }
}

export interface BrowserLocation {
  location: { hash: string; pathname: string; search: string };
  history: { state: unknown; replaceState(state: unknown, unused: string, url: string): void };
  storage: KeyValueStorage | undefined;
}

/**
 * The token to start with: one from the URL fragment (saved, then stripped
 * from the address bar so it is not bookmarked or shared), else the saved one.
 */
export function adoptToken({ location, history, storage }: BrowserLocation): string | null {
  const { token, hash } = takeTokenFromHash(location.hash);
  if (hash !== location.hash) {
    history.replaceState(history.state, '', `${location.pathname}${location.search}${hash}`);
  }
  if (token === null) return loadToken(storage);
  saveToken(storage, token);
  return token;
}
