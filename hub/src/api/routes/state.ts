/** SKELETON: routes land with the implementation. */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';

export function stateRoutes(_app: FastifyInstance, _deps: ApiDeps): void {}
