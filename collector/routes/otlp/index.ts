import type { FastifyPluginAsync } from 'fastify';
import { type IngestRouteDeps, mountIngest } from '../../ingest/index.ts';
import { otlpLogsProtocol } from './protocol.ts';

export { OtlpMessages } from './proto.ts';
export { LogRecordSchema } from './schema.ts';

/** POST /v1/logs, also under /ingest/<source>/ (hushd's otlp_http sink appends /v1/logs to its endpoint). */
export const otlpRoutes: FastifyPluginAsync<IngestRouteDeps> = async (app, deps) => {
  mountIngest(app, otlpLogsProtocol, ['/v1/logs', '/ingest/:source/v1/logs'], deps);
};
