/**
 * One place that turns thrown errors into API responses: a ProtocolError
 * keeps its catalog code, a Fastify validation error becomes bad_request,
 * an unreachable cluster database storage_unavailable, anything else is a
 * logged internal_error.
 */
import { ERRORS, ProtocolError, type ApiErrorBody } from '@iot-hub/protocol';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { StorageUnavailableError } from '../cluster/pg/pg-database.js';

export function toApiError(err: unknown): { status: number; body: ApiErrorBody } {
  if (err instanceof ProtocolError) {
    return { status: err.status, body: { error: err.error, code: err.status, message: err.message } };
  }
  if (err instanceof StorageUnavailableError) {
    // Nothing was committed: the caller may retry (cluster mode, PostgreSQL away).
    return { status: 503, body: { error: 'storage_unavailable', code: 503, message: ERRORS.storage_unavailable.message } };
  }
  const fe = err as Partial<FastifyError>;
  if (fe.validation) {
    return { status: 400, body: { error: 'bad_request', code: 400, message: `${ERRORS.bad_request.message}: ${fe.message ?? ''}`.trim() } };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors: bad JSON body, wrong content type, body too large.
    const error = fe.statusCode === 413 ? 'payload_too_large' : fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.message?.includes('JSON') ? 'bad_json' : 'bad_request';
    return { status: fe.statusCode, body: { error, code: fe.statusCode, message: fe.message ?? ERRORS[error].message } };
  }
  return { status: 500, body: { error: 'internal_error', code: 500, message: ERRORS.internal_error.message } };
}

export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toApiError(err);
  if (status >= 500) request.log.error({ err }, 'API request failed');
  void reply.status(status).send(body);
}
