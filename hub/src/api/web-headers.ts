/**
 * Headers on every HTTP response: no MIME sniffing, no referrer, no framing
 * (clickjacking), and a Content-Security-Policy that lets the dashboard load
 * only its own files and talk only to this hub. CORS is off unless
 * --cors-origins names origins; they get bearer-token access, never the
 * session cookie (no Allow-Credentials), so CSRF stays shut.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

const ALLOWED_HEADERS = 'authorization, content-type, idempotency-key';
const ALLOWED_METHODS = 'GET, POST, PATCH, DELETE';

/**
 * style-src needs 'unsafe-inline': index.html has its design tokens in a
 * <style> element and Lit falls back to <style> tags where constructable
 * stylesheets are missing. Scripts stay 'self' only. The socket's ws(s)://
 * URL of this host is listed because older browsers do not count it as 'self'.
 */
export function contentSecurityPolicy(host: string | undefined): string {
  const sockets = host && /^[A-Za-z0-9.:[\]-]+$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function corsOrigin(request: FastifyRequest, corsOrigins: readonly string[]): string | null {
  const origin = request.headers.origin;
  return origin !== undefined && corsOrigins.includes(origin) ? origin : null;
}

export function registerWebHeaders(app: FastifyInstance, corsOrigins: readonly string[]): void {
  // Preflights are answered before authentication: browsers send them without credentials.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'OPTIONS' || request.headers['access-control-request-method'] === undefined) return;
    const origin = corsOrigin(request, corsOrigins);
    if (origin === null) return;
    return reply
      .status(204)
      .header('access-control-allow-origin', origin)
      .header('access-control-allow-methods', ALLOWED_METHODS)
      .header('access-control-allow-headers', ALLOWED_HEADERS)
      .header('access-control-max-age', '600')
      .header('vary', 'Origin')
      .send();
  });

  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header('x-frame-options', 'DENY');
    void reply.header('content-security-policy', contentSecurityPolicy(request.headers.host));
    if (corsOrigins.length > 0) {
      const origin = corsOrigin(request, corsOrigins);
      if (origin !== null) void reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', 'location');
      void reply.header('vary', 'Origin');
    }
    return payload;
  });
}
