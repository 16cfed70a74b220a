/**
 * One webhook attempt: POST the notification's exact JSON body, signed with
 * HMAC-SHA256 under the notifier's secret (X-Hub-Signature-256, as GitHub
 * does), with a timeout. A 2xx answer is delivered; anything else (another
 * status, a redirect, no answer in time, a refused connection) is a failure
 * the caller may retry. Node's fetch: no dependency needed for one POST.
 */
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-hub-signature-256';
export const NOTIFICATION_ID_HEADER = 'x-hub-notification-id';

export interface WebhookOutcome {
  delivered: boolean;
  status: number | null;
  /** Why it failed, without the URL (it may hold a token); null when delivered. */
  error: string | null;
  /** stop() cut it short: neither a success nor a failure of the receiver. */
  aborted: boolean;
  ms: number;
}

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export async function sendWebhook(
  target: { url: string; secret: string },
  notificationId: string,
  body: string,
  timeoutMs: number,
  abort?: AbortSignal,
): Promise<WebhookOutcome> {
  const started = Date.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = abort ? AbortSignal.any([timeout, abort]) : timeout;
  const done = (o: Omit<WebhookOutcome, 'ms' | 'aborted'>): WebhookOutcome => ({ ...o, aborted: abort?.aborted === true && !o.delivered, ms: Date.now() - started });
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature(target.secret, body), [NOTIFICATION_ID_HEADER]: notificationId, 'user-agent': 'iot-hub-notify' },
      body,
      // A redirect could lead the signed body anywhere: not followed, a failure.
      redirect: 'manual',
      signal,
    });
    // The answer's body is not needed; cancelled so the connection is freed.
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return done({ delivered: true, status: res.status, error: null });
    return done({ delivered: false, status: res.status, error: `HTTP ${res.status}` });
  } catch (err) {
    if (timeout.aborted) return done({ delivered: false, status: null, error: `no answer within ${timeoutMs} ms` });
    if (abort?.aborted) return done({ delivered: false, status: null, error: 'cut short by the hub stopping' });
    return done({ delivered: false, status: null, error: describeFetchError(err) });
  }
}

/** fetch's errors say "fetch failed"; the cause (ECONNREFUSED, ENOTFOUND, a TLS error) is the useful part. */
function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `request failed: ${cause.code}`;
  if (cause?.message) return `request failed: ${cause.message}`;
  return `request failed: ${err instanceof Error ? err.message : String(err)}`;
}
