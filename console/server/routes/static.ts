import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { packagePath } from '../../../core/package-path.ts';
import type { ConsoleStore } from '../../store/index.ts';

/** Everything the browser loads comes from the package (no CDN, no web font): read once at start. */
const ASSETS = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
} as const;

export const staticRoutes: FastifyPluginAsync<{ store: ConsoleStore }> = async (app, { store }) => {
  for (const [name, type] of Object.entries(ASSETS)) {
    const body = readFileSync(packagePath('console', 'ui', name));
    app.get(`/static/${name}`, { config: { access: 'public' } }, async (_request, reply) =>
      reply.type(type).header('cache-control', 'no-cache').send(body),
    );
  }
  // Browsers ask for it on every page; we have none, and a 404 would be logged as an error each time.
  app.get('/favicon.ico', { config: { access: 'public' } }, async (_request, reply) =>
    reply.code(204).send(),
  );
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
  // Ready when the store answers a one-alert query (the database opens, Elasticsearch responds).
  app.get('/readyz', { config: { access: 'public' } }, async (request, reply) => {
    try {
      await store.listAlerts({ filter: {}, sort: 'timestamp', order: 'desc', limit: 1 });
      return { ready: true, store: store.kind };
    } catch (error) {
      request.log.warn({ err: error }, 'console store not ready');
      return reply.code(503).send({ ready: false, store: store.kind });
    }
  });
};
