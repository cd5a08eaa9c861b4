import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { EdrError } from '../../core/errors.ts';
import type { CollectorConfig } from '../config.ts';
import { principalOf } from '../plugins/auth/index.ts';
import type { CollectorMetrics } from '../plugins/metrics/index.ts';
import { decodeBody, mediaType } from './body.ts';
import { isolated } from './candidate.ts';
import { parsed } from './framing.ts';
import type { IngestPipeline } from './pipeline.ts';
import type { IngestProtocol, ProtocolReply } from './protocol.ts';
import { mapInSlices } from './slices.ts';

export interface IngestRouteDeps extends Record<string, unknown> {
  pipeline: IngestPipeline;
  metrics: CollectorMetrics;
  limits: CollectorConfig['ingest'];
}

/**
 * Mounts one protocol at `urls` in the calling (encapsulated) context, with an error handler that answers
 * in the protocol's shape. Every ingest route is this one handler: decode → extract → pipeline → reply.
 */
export function mountIngest<Context>(
  app: FastifyInstance,
  protocol: IngestProtocol<Context>,
  urls: readonly string[],
  deps: IngestRouteDeps,
  schema?: FastifySchema,
): void {
  const { pipeline, limits, metrics } = deps;
  app.setErrorHandler((error: FastifyError | EdrError, request, reply) => {
    const edr = toEdrError(error);
    metrics.requestsRejected.inc({ protocol: protocol.name, code: edr.code });
    // A broker outage answers every request with 503: worth a warning each, not an error each.
    if (edr.status >= 500)
      request.log[edr.retriable ? 'warn' : 'error']({ err: error }, `${protocol.name} request failed`);
    if (edr.retriable) reply.header('retry-after', String(edr.retryAfterSeconds ?? limits.retryAfterSeconds));
    // Refused before its body was all in (auth, size, media type): close rather than read the rest, so a
    // sender without credentials cannot hold the connection open by trickling a body.
    if (!request.raw.complete) reply.header('connection', 'close');
    send(reply, protocol.fail(edr, request));
  });

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const type = mediaType(request.headers);
    const binary =
      type !== undefined && protocol.binary?.mediaTypes.includes(type) ? protocol.binary : undefined;
    if (
      type !== undefined &&
      !binary &&
      protocol.mediaTypes !== 'any' &&
      !protocol.mediaTypes.includes(type)
    ) {
      const expected = [...protocol.mediaTypes, ...(protocol.binary?.mediaTypes ?? [])];
      throw new EdrError('EDR_ERR_UNSUPPORTED_MEDIA', `${type}; expected ${expected.join(' or ')}`);
    }
    const bytes = await decodeBody(request.body, request.headers, limits.maxBodyBytes, {
      allowEmpty: protocol.acceptsEmpty,
    });
    const framing = { maxRecords: limits.maxRecordsPerRequest, maxDepth: limits.maxJsonDepth };
    const extracted = binary
      ? binary.extract(bytes, request, framing)
      : protocol.extract(bytes.toString('utf8'), request, framing);
    if (extracted.candidates.length === 0 && !protocol.acceptsEmpty) throw new EdrError('EDR_ERR_NO_RECORDS');
    const { unwrap } = protocol;
    const { context } = extracted;
    const candidates = await mapInSlices(extracted.candidates, (found) =>
      isolated(found.index, found.line, () => {
        const candidate = parsed(found, framing.maxDepth);
        return unwrap && !candidate.error ? unwrap(candidate, context, framing) : candidate;
      }),
    );
    const outcome = await pipeline.ingest(protocol.name, candidates, principalOf(request), protocol.batch);
    send(reply, protocol.reply(outcome, context));
    return reply;
  };
  for (const url of urls) app.post(url, schema ? { schema } : {}, handler);
}

function send(reply: FastifyReply, { status, body, contentType }: ProtocolReply): void {
  if (contentType !== undefined) reply.type(contentType);
  reply.code(status).send(body);
}

/** Fastify's own errors (body limit, bad content-length, ...) mapped into the catalog. */
export function toEdrError(error: FastifyError | EdrError | Error): EdrError {
  if (error instanceof EdrError) return error;
  const code = (error as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new EdrError('EDR_ERR_BODY_TOO_LARGE', undefined, { cause: error });
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new EdrError('EDR_ERR_UNSUPPORTED_MEDIA', undefined, { cause: error });
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new EdrError('EDR_ERR_BAD_REQUEST', error.message, { cause: error });
  }
  return new EdrError('EDR_ERR_INTERNAL', undefined, { cause: error });
}
