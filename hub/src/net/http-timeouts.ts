/**
 * Timeouts of the HTTP(S) server, shared by the plain listener (through
 * Fastify) and the HTTPS one. Node's defaults let a slow client hold a
 * connection for a minute before its headers are complete and checks them
 * only every 30 s; a client that trickles its request (slowloris) then
 * holds a descriptor for that long.
 */
import type { ServerOptions } from 'node:http';

/** A whole request (headers and a body of at most 64 KiB) must arrive within this. */
const REQUEST_TIMEOUT_MS = 30_000;
/** An idle keep-alive connection is closed after this (Node's default; Fastify's is 72 s). */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How often Node looks for connections past their header or request timeout. */
const CHECK_INTERVAL_MS = 1_000;

export function httpServerTimeouts(headersTimeoutMs: number): Required<Pick<ServerOptions, 'headersTimeout' | 'requestTimeout' | 'keepAliveTimeout' | 'connectionsCheckingInterval'>> {
  return {
    headersTimeout: headersTimeoutMs,
    requestTimeout: Math.max(REQUEST_TIMEOUT_MS, headersTimeoutMs),
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: CHECK_INTERVAL_MS,
  };
}
