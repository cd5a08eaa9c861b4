import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Producer } from '../../../transport/index.ts';
import type { CollectorConfig } from '../../config.ts';
import { decodeBody, type IngestRouteDeps, mountIngest, readJson, toEdrError } from '../../ingest/index.ts';
import { principalOf } from '../../plugins/auth/index.ts';
import { AckLedger, HecRefusal, requiredChannelOf } from './acks.ts';
import { hecEventProtocol, hecFailure, hecRawProtocol, hecReply } from './protocol.ts';
import { HEC_STATUS, HecAckQuerySchema } from './schema.ts';

export { HEC_STATUS, HecAckReplySchema, HecEventSchema, HecReplySchema } from './schema.ts';

export interface SplunkHecRouteDeps extends IngestRouteDeps {
  hec: CollectorConfig['splunkHec'];
}

const COLLECTOR = '/services/collector';
const EVENT_PATHS = [COLLECTOR, `${COLLECTOR}/event`, `${COLLECTOR}/event/1.0`];
const RAW_PATHS = [`${COLLECTOR}/raw`, `${COLLECTOR}/raw/1.0`];

/** At the root and under /ingest/<source>/ (hushd's splunk_hec sinks point at a URL prefix). */
const mounted = (paths: readonly string[]) => [...paths, ...paths.map((path) => `/ingest/:source${path}`)];

/** Splunk HEC: /event (and its aliases), /raw and /ack, each in its own context with its own errors. */
export const splunkHecRoutes: FastifyPluginAsync<SplunkHecRouteDeps> = async (app, deps) => {
  const { ack } = deps.hec;
  const ledger = ack.enabled ? new AckLedger(ack) : undefined;
  // Splunk reads a key from ?token= too (taken only with splunkHec.allowQueryStringAuth; see the auth plugin).
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, acceptsQueryToken: true };
  });
  await app.register(async (scope) =>
    mountIngest(scope, hecEventProtocol(ledger), mounted(EVENT_PATHS), deps),
  );
  await app.register(async (scope) => mountIngest(scope, hecRawProtocol(ledger), mounted(RAW_PATHS), deps));
  await app.register(async (scope) => ackRoute(scope, ledger, deps));
};

/**
 * POST /services/collector/ack `{"acks": [ackId, ...]}` on the sender's channel: `{"acks": {"<id>": bool}}`.
 * Only ackIds this sender was issued on this channel read true, each once.
 */
function ackRoute(app: FastifyInstance, ledger: AckLedger | undefined, deps: SplunkHecRouteDeps): void {
  const { limits, hec } = deps;
  // Refusals are counted by the requests metric (route and status); no record is involved.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const { status, body } = hecFailure(toEdrError(error));
    reply.code(status).send(body);
  });
  const handler = async (request: FastifyRequest) => {
    if (!ledger) throw new HecRefusal(HEC_STATUS.ackDisabled, 'indexer acknowledgement is off');
    const channel = requiredChannelOf(request);
    const body = await decodeBody(request.body, request.headers, limits.maxBodyBytes);
    const read = readJson(String(body), 2);
    const query = read.ok ? HecAckQuerySchema.safeParse(read.value) : undefined;
    if (!query?.success)
      throw new HecRefusal(HEC_STATUS.invalidDataFormat, 'expected {"acks": [ackId, ...]}');
    const { acks } = query.data;
    if (acks.length > hec.ack.maxAckIdsPerQuery) {
      throw new HecRefusal(
        HEC_STATUS.invalidDataFormat,
        `more than ${hec.ack.maxAckIdsPerQuery} ackIds (splunkHec.ack.maxAckIdsPerQuery)`,
      );
    }
    return { acks: ledger.query(principalOf(request).id, channel, acks) };
  };
  for (const url of mounted([`${COLLECTOR}/ack`])) app.post(url, handler);
}

/**
 * GET /services/collector/health[/1.0], unauthenticated as in Splunk: healthy while the broker answers.
 */
export const splunkHecHealthRoutes: FastifyPluginAsync<{ producer: Producer }> = async (
  app,
  { producer },
) => {
  for (const url of [`${COLLECTOR}/health`, `${COLLECTOR}/health/1.0`]) {
    app.get(url, async (_request, reply) => {
      const { status, body } = hecReply((await producer.ready()) ? HEC_STATUS.healthy : HEC_STATUS.unhealthy);
      return reply.code(status).send(body);
    });
  }
};
