import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { packagePath } from '../../../core/package-path.ts';

/** Everything the browser loads comes from the package (no CDN, no web font): read once at start. */
const ASSETS = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
} as const;

export const staticRoutes: FastifyPluginAsync = async (app) => {
  for (const [name, type] of Object.entries(ASSETS)) {
    const body = readFileSync(packagePath('console', 'ui', name));
    app.get(`/static/${name}`, { config: { access: 'public' } }, async (_request, reply) =>
      reply.type(type).header('cache-control', 'no-cache').send(body),
    );
  }
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
};
