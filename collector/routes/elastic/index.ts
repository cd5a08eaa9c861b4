import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { type IngestRouteDeps, mountIngest } from '../../ingest/index.ts';
import { clusterInfo, elasticBulkProtocol, elasticDocProtocol } from './protocol.ts';

export { BulkActionSchema, ElasticErrorSchema } from './schema.ts';

const withSource = (paths: string[]) => [...paths, ...paths.map((path) => `/ingest/:source${path}`)];

/**
 * Elasticsearch's clients (the official ones since 7.14, Beats, Logstash) refuse a 2xx reply without this
 * header, after the data was stored: a retrying sender would then send it again.
 */
function answerAsElasticsearch(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-elastic-product', 'Elasticsearch');
  });
}

/** mountIngest mounts POST; Elasticsearch takes PUT as well on these paths. */
function alsoPut(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.method === 'POST') route.method = ['POST', 'PUT'];
  });
}

/**
 * The Elasticsearch APIs that hushd's elastic exporters and Beats-style shippers call, at the root and under
 * /ingest/<source>/: `GET|HEAD /` (what a client asks first), `_doc`, `_create` and `_bulk`.
 */
export const elasticDocRoutes: FastifyPluginAsync<IngestRouteDeps> = async (app, deps) => {
  answerAsElasticsearch(app);
  // A shipper pointed at /ingest/<source> asks its info there (with or without the trailing slash).
  for (const url of ['/', '/ingest/:source', '/ingest/:source/']) app.get(url, async () => clusterInfo());
  mountIngest(app, elasticDocProtocol, withSource(['/:index/_doc']), deps);
  await app.register(async (scope) => {
    alsoPut(scope);
    mountIngest(scope, elasticDocProtocol, withSource(['/:index/_doc/:id', '/:index/_create/:id']), deps);
  });
};

export const elasticBulkRoutes: FastifyPluginAsync<IngestRouteDeps> = async (app, deps) => {
  answerAsElasticsearch(app);
  alsoPut(app);
  mountIngest(app, elasticBulkProtocol, withSource(['/_bulk', '/:index/_bulk']), deps);
};
