import type { FastifyPluginAsync } from 'fastify';
import { type IngestRouteDeps, mountIngest } from '../../ingest/index.ts';
import { elasticBulkProtocol, elasticDocProtocol } from './protocol.ts';

export { BulkActionSchema, ElasticErrorSchema } from './schema.ts';

const withSource = (paths: string[]) => [...paths, ...paths.map((path) => `/ingest/:source${path}`)];

/** The two Elasticsearch APIs hushd's elastic exporters call, at the root and under /ingest/<source>/. */
export const elasticDocRoutes: FastifyPluginAsync<IngestRouteDeps> = async (app, deps) => {
  mountIngest(
    app,
    elasticDocProtocol,
    withSource(['/:index/_doc', '/:index/_doc/:id', '/:index/_create/:id']),
    deps,
  );
};

export const elasticBulkRoutes: FastifyPluginAsync<IngestRouteDeps> = async (app, deps) => {
  mountIngest(app, elasticBulkProtocol, withSource(['/_bulk', '/:index/_bulk']), deps);
};
