/**
 * TLS for the device and HTTP listeners: the PEM certificate and key named
 * by --tls-cert / --tls-key, checked once at config time, read at start.
 */
import { readFileSync } from 'node:fs';

/** TLS 1.0 and 1.1 are deprecated (RFC 8996). */
export const TLS_MIN_VERSION = 'TLSv1.2' as const;

export interface TlsFiles {
  /** PEM certificate chain: the server certificate first, then intermediates. */
  cert: Buffer;
  /** PEM private key of that certificate. */
  key: Buffer;
}

export function readTlsFiles(certFile: string, keyFile: string): TlsFiles {
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
