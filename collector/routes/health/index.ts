import type { FastifyPluginAsync } from 'fastify';
import type { Producer } from '../../../transport/index.ts';

/** /healthz: the process answers. /readyz: the broker answers too, so ingest can succeed. */
export const healthRoutes: FastifyPluginAsync<{ producer: Producer }> = async (app, { producer }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = await producer.ready();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'broker unavailable' });
  });
};
