import type { FastifyPluginAsync } from 'fastify';
import { type IngestRouteDeps, mountIngest } from '../../ingest/index.ts';
import { jsonProtocol } from './protocol.ts';
import { eventsRouteSchema } from './schema.ts';

export { jsonProtocol } from './protocol.ts';
export { eventsRouteSchema, IngestResponseSchema } from './schema.ts';

/** POST /v1/events: agents, SDK adapters and `clawdstrike run` JSONL. */
export const eventsRoutes: FastifyPluginAsync<IngestRouteDeps> = async (app, deps) => {
  mountIngest(app, jsonProtocol('events'), ['/v1/events'], deps, eventsRouteSchema);
};
