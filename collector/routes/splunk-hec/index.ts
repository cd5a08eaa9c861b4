import type { FastifyPluginAsync } from 'fastify';
import type { Producer } from '../../../transport/index.ts';
import { type IngestRouteDeps, mountIngest } from '../../ingest/index.ts';
import { hecReply, splunkHecProtocol } from './protocol.ts';
import { HEC_STATUS } from './schema.ts';

export { HEC_STATUS, HecEventSchema, HecReplySchema } from './schema.ts';

const PATHS = ['/services/collector', '/services/collector/event', '/services/collector/event/1.0'];

/** Splunk HEC at the root and under /ingest/<source>/ (hushd's splunk_hec sinks point at a URL prefix). */
export const splunkHecRoutes: FastifyPluginAsync<IngestRouteDeps> = async (app, deps) => {
  mountIngest(app, splunkHecProtocol, [...PATHS, ...PATHS.map((path) => `/ingest/:source${path}`)], deps);
};

/** GET /services/collector/health, unauthenticated as in Splunk: healthy while the broker answers. */
export const splunkHecHealthRoutes: FastifyPluginAsync<{ producer: Producer }> = async (
  app,
  { producer },
) => {
  app.get('/services/collector/health', async (_request, reply) => {
    const { status, body } = hecReply((await producer.ready()) ? HEC_STATUS.healthy : HEC_STATUS.unhealthy);
    return reply.code(status).send(body);
  });
};
