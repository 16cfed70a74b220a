/**
 * What a webhook URL may be: http or https only (no file:, data: or other
 * schemes fetch might take), and without credentials in it: a URL is shown
 * by the API and may reach a log, so secrets belong in the signing secret or
 * the path, never in `user:pass@`.
 */
import { ProtocolError } from '@iot-hub/protocol';

export const MAX_URL_LENGTH = 2048;

/** The URL as the hub keeps it, or a bad_request naming the field `url`. */
export function checkWebhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ProtocolError('bad_request', 'url: not an absolute URL (http://host[:port]/path or https://…)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProtocolError('bad_request', `url: scheme ${url.protocol} is not allowed, only http: and https:`);
  }
  if (url.username !== '' || url.password !== '') {
    url.username = '';
    url.password = '';
    throw new ProtocolError('bad_request', `url: credentials in the URL are refused (they would be shown and logged); use ${url.href} and the signing secret`);
  }
  return url.href;
}

/** scheme://host[:port] only, for log lines: a path can hold a token (Slack-style hooks). */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '?';
  }
}
