import type { FastifyPluginAsync } from 'fastify';
import { EdrError } from '../../../core/errors.ts';
import { matchesAlertFilter } from '../../store/query.ts';
import { SECURITY_HEADERS } from '../app.ts';
import { alertFilter, type QueryParams, queueForm } from '../queue-query.ts';
import { alertRow } from '../views/queue.ts';
import type { RouteDeps } from './shared.ts';

/** Open live feeds at once, over all users; one more is refused (429) rather than queued. */
export const MAX_LIVE_STREAMS = 64;
/** A comment line this often keeps proxies from closing an idle stream and finds dead clients. */
const HEARTBEAT_MS = 15_000;

/**
 * The queue's live feed (server-sent events): every alert the store takes from now on that the queue's filter
 * selects, as an `alert` event carrying the row, rendered (and escaped) by the same code as the page's rows.
 */
export const streamRoutes: FastifyPluginAsync<RouteDeps> = async (app, { store }) => {
  const open = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of [...open]) end();
  });

  app.get<{ Querystring: QueryParams }>(
    '/api/stream',
    { config: { access: 'viewer' } },
    async (request, reply) => {
      const filter = alertFilter(queueForm(request.query));
      if (open.size >= MAX_LIVE_STREAMS)
        throw new EdrError('EDR_ERR_RATE_LIMITED', 'too many live feeds open');
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      raw.write(': live\n\n');
      const unsubscribe = store.subscribeAlerts((record) => {
        if (!matchesAlertFilter(record, filter)) return;
        const data = JSON.stringify({ alertId: record.alert.alertId, row: alertRow(record).value });
        raw.write(`event: alert\nid: ${record.alert.alertId}\ndata: ${data}\n\n`);
      });
      const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS);
      const end = () => {
        clearInterval(heartbeat);
        unsubscribe();
        open.delete(end);
        raw.end();
      };
      open.add(end);
      request.raw.on('close', end);
    },
  );
};
