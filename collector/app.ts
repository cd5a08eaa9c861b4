import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import { KeyRing, metricsAccessHook } from '../core/api-keys.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import { EdrError } from '../core/errors.ts';
import { createTransport, type Producer, type Transport } from '../transport/index.ts';
import type { CollectorConfig } from './config.ts';
import { createIngestPipeline, edrErrorBody, type IngestRouteDeps, rawBodyPlugin } from './ingest/index.ts';
import { authPlugin, loggableUrl } from './plugins/auth/index.ts';
import { createMetrics, metricsPlugin, metricsRoute } from './plugins/metrics/index.ts';
import { rateLimitPlugin, TokenBuckets } from './plugins/rate-limit/index.ts';
import { shutdownPlugin } from './plugins/shutdown.ts';
import { transportPlugin } from './plugins/transport/index.ts';
import { elasticBulkRoutes, elasticDocRoutes } from './routes/elastic/index.ts';
import { eventsRoutes } from './routes/events/index.ts';
import { healthRoutes } from './routes/health/index.ts';
import { hushdRoutes } from './routes/hushd/index.ts';
import { otlpRoutes } from './routes/otlp/index.ts';
import { splunkHecHealthRoutes, splunkHecRoutes } from './routes/splunk-hec/index.ts';

export interface CollectorDeps {
  /** Publish through this transport (e.g. the in-memory one shared with a processor in one process). */
  transport?: Transport;
  /** Or through this producer (tests); the collector then leaves its lifecycle to the caller. */
  producer?: Producer;
  clock?: Clock;
  /** fastify's logger option; defaults to JSON logs at `server.logLevel`. */
  logger?: FastifyServerOptions['logger'];
  /** Registry for the collector's metrics (a cluster worker shares it with the primary's aggregation). */
  registry?: Registry;
  /** Produces the /metrics body; defaults to this app's registry (a cluster worker asks for the cluster sum). */
  renderMetrics?: () => Promise<string>;
}

/**
 * The collector as a fastify app, not yet listening. It owns what it creates: a transport built from the
 * config, or a producer made from `deps.transport`; both are flushed and closed by `app.close()`.
 */
export async function buildCollector(
  config: CollectorConfig,
  deps: CollectorDeps = {},
): Promise<FastifyInstance> {
  const { server } = config;
  const app = Fastify({
    logger: deps.logger ?? {
      level: config.server.logLevel,
      // A Splunk HEC sender may put its key in the URL: never in the logs.
      serializers: {
        req: (request: FastifyRequest) => ({
          method: request.method,
          url: loggableUrl(request.url),
          host: request.host,
          remoteAddress: request.ip,
        }),
      },
    },
    bodyLimit: config.ingest.maxBodyBytes,
    return503OnClosing: true,
    // Slow senders: headers, then the whole body, each within its time (408 and the connection closed).
    requestTimeout: server.requestTimeoutMs,
    http: {
      headersTimeout: server.headersTimeoutMs,
      // How often node checks those timeouts: a sender is cut off at most this much after its deadline.
      connectionsCheckingInterval: Math.min(1_000, server.headersTimeoutMs),
    },
  });
  app.server.maxConnections = server.maxConnections;
  const { producer, release } = resolveProducer(config, deps, app);
  const clock = deps.clock ?? systemClock;
  const { registry, metrics } = createMetrics(deps.registry);
  const { rateLimit, auth } = config;
  const buckets = (limits: { ratePerSecond: number; burst: number }) =>
    rateLimit.enabled ? new TokenBuckets(limits, rateLimit.maxTracked, clock) : undefined;
  const keys = new KeyRing(auth.keys);
  const metricsAccess = metricsAccessHook(auth);

  app.setNotFoundHandler((request, reply) => {
    const { status, body } = edrErrorBody(
      new EdrError('EDR_ERR_NOT_FOUND', `${request.method} ${request.url}`),
    );
    reply.code(status).send(body);
  });
  await app.register(shutdownPlugin);
  await app.register(metricsPlugin, { registry, metrics });
  await app.register(transportPlugin, { producer, release });
  await app.register(healthRoutes, { producer });
  await app.register(splunkHecHealthRoutes, { producer });
  await app.register(async (scope) => {
    if (metricsAccess) scope.addHook('onRequest', metricsAccess);
    await scope.register(metricsRoute, {
      registry,
      metrics,
      render: deps.renderMetrics ?? (() => registry.metrics()),
    });
  });

  const routeDeps: IngestRouteDeps = {
    pipeline: createIngestPipeline({
      producer,
      metrics,
      perAgent: buckets(rateLimit.perAgent),
      perSender: buckets(rateLimit.perKeyRecords),
      clock,
      maxErrorsReported: config.ingest.maxErrorsReported,
      recordLimits: config.limits.record,
      log: app.log.child({ component: 'ingest' }),
    }),
    metrics,
    limits: config.ingest,
  };
  await app.register(async (ingest) => {
    await ingest.register(rawBodyPlugin, { maxBodyBytes: config.ingest.maxBodyBytes });
    await ingest.register(authPlugin, {
      scope: 'ingest',
      keys,
      required: auth.required,
      headers: auth.headers,
      sources: config.sources,
      queryTokens: config.splunkHec.allowQueryStringAuth,
      clock,
    });
    await ingest.register(rateLimitPlugin, { perKey: buckets(rateLimit.perKey), metrics });
    for (const routes of [eventsRoutes, hushdRoutes, otlpRoutes, elasticDocRoutes, elasticBulkRoutes]) {
      await ingest.register(routes, routeDeps);
    }
    await ingest.register(splunkHecRoutes, { ...routeDeps, hec: config.splunkHec });
  });
  return app;
}

function resolveProducer(
  config: CollectorConfig,
  deps: CollectorDeps,
  app: FastifyInstance,
): { producer: Producer; release: () => Promise<void> } {
  if (deps.producer) return { producer: deps.producer, release: async () => {} };
  if (deps.transport) {
    const producer = deps.transport.createProducer();
    return { producer, release: () => producer.close() };
  }
  const transport = createTransport(config.transport, { logger: app.log.child({ component: 'transport' }) });
  return { producer: transport.createProducer(), release: () => transport.close() };
}
