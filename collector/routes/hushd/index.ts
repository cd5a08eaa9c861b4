import type { FastifyPluginAsync } from 'fastify';
import { type IngestRouteDeps, mountIngest } from '../../ingest/index.ts';
import { eventsRouteSchema, jsonProtocol } from '../events/index.ts';
import { sourceParamsJsonSchema } from './schema.ts';

export { SignatureHeadersSchema, SourceParamsSchema } from './schema.ts';

/**
 * POST /ingest/<source>: hushd's audit_forward webhook (AuditEvent), its SIEM webhook exporter
 * (SecurityEvent) and its signed `violation.detected` webhooks; one record, an array or NDJSON. The
 * source's settings decide signature and anonymous access (see the auth plugin).
 */
export const hushdRoutes: FastifyPluginAsync<IngestRouteDeps> = async (app, deps) => {
  mountIngest(app, jsonProtocol('hushd'), ['/ingest/:source'], deps, {
    ...eventsRouteSchema,
    params: sourceParamsJsonSchema,
  });
};
