import { exposed } from './expose.ts';

/**
 * Part of a graceful close: fastify refuses new requests (503) and waits for those in flight, but a
 * keep-alive connection that falls idle after close began would hold the server open until its timeout.
 * Responses sent while closing therefore ask the client to close the connection.
 */
export const shutdownPlugin = exposed('edr-shutdown', async (app) => {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
});
