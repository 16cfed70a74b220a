/**
 * Device credentials in a WebSocket upgrade [FP-3.2]:
 * `Authorization: Basic base64(id:token)` or `Authorization: Bearer id:token`.
 */
export interface DeviceCredentials {
  id: string;
  token: string;
}

/** null = no Authorization header; 'malformed' = a header we cannot read. */
export function parseDeviceAuthorization(header: string | undefined): DeviceCredentials | null | 'malformed' {
  if (header === undefined || header === '') return null;
  const match = /^(Basic|Bearer)\s+(\S+)\s*$/i.exec(header);
  if (!match) return 'malformed';
  const scheme = (match[1] as string).toLowerCase();
  const value = match[2] as string;
  const pair = scheme === 'basic' ? Buffer.from(value, 'base64').toString('utf8') : value;
  const colon = pair.indexOf(':');
  if (colon <= 0 || colon === pair.length - 1) return 'malformed';
  return { id: pair.slice(0, colon), token: pair.slice(colon + 1) };
}
