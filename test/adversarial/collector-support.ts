import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { buildCollector, type CollectorDeps } from '../../collector/index.ts';
import { bearer, collectorConfig, KEYS } from '../../collector/test/support.ts';
import { decodeEvent } from '../../processor/decode.ts';
import {
  createTransport,
  type Message,
  RECORD_HEADERS,
  type Transport,
  TransportConfigSchema,
} from '../../transport/index.ts';
import { silentLogger } from '../../transport/testing/index.ts';

/** A collector on the memory transport, and everything it published to `events`, read back as it lands. */
const gzipAsync = promisify(gzip);

export interface Harness {
  app: FastifyInstance;
  transport: Transport;
  /** Every message on `events` so far, in arrival order. */
  messages: Message[];
  /** Resolves once every id is on `events` (or rejects after `timeoutMs`). */
  waitForIds(ids: readonly string[], timeoutMs?: number): Promise<void>;
  /** Ids of the messages on `events` so far. */
  publishedIds(): Set<string>;
  close(): Promise<void>;
}

export async function startHarness(
  overrides: Parameters<typeof collectorConfig>[0] = {},
  deps: Omit<CollectorDeps, 'transport' | 'producer'> = {},
): Promise<Harness> {
  const transport = createTransport(
    TransportConfigSchema.parse({ kind: 'memory', memory: { maxBacklog: 1_000_000 } }),
    { logger: silentLogger },
  );
  const app = await buildCollector(collectorConfig(overrides), { ...deps, transport });
  const messages: Message[] = [];
  const waiters = new Set<() => void>();
  const consumer = transport.createConsumer({ stream: 'events', group: 'adversarial', fromBeginning: true });
  await consumer.start(async (batch) => {
    messages.push(...batch.messages);
    for (const waiter of waiters) waiter();
  });
  const publishedIds = () => new Set(messages.map((message) => message.headers[RECORD_HEADERS.eventId]!));
  return {
    app,
    transport,
    messages,
    publishedIds,
    waitForIds(ids, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const have = publishedIds();
          if (!ids.every((id) => have.has(id))) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          const have = publishedIds();
          reject(new Error(`not published: ${ids.filter((id) => !have.has(id)).join(', ')}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      await consumer.close();
      await app.close();
      await transport.close();
    },
  };
}

/** Every message published decodes in the processor (a 202 never turns into a dead letter). */
export function undecodable(messages: readonly Message[]): string[] {
  return messages.flatMap((message) => {
    const decoded = decodeEvent(message.value, message.timestamp);
    return decoded.ok
      ? []
      : [`${message.headers[RECORD_HEADERS.eventId]}: ${JSON.stringify(decoded.errors)}`];
  });
}

export interface Reply {
  statusCode: number;
  body: string;
}

/** One ingest endpoint and framing: how records go in, and which of them its reply says were refused. */
export interface Route {
  name: string;
  /**
   * Whether text that is not JSON costs only its own record. Line framings (NDJSON, _bulk) and one record
   * per string or request (OTLP raw_json, _doc) do; in a JSON array or HEC's back-to-back values an
   * unterminated string or bracket runs on to the end of the body, so siblings after it cannot be told.
   */
  isolatesBrokenJson: boolean;
  /**
   * Splunk HEC publishes the records before the first refused one and none after it, and its sender
   * resends from there (see deliver()); every other route takes each record on its own.
   */
  resendsAfterRefusal?: true;
  /** One request per element: most routes carry every record in one, `_doc` one record per request. */
  requests(records: readonly string[]): { url: string; headers: Record<string, string>; payload: string }[];
  /** Positions of the refused records, as far as the protocol's reply tells (HEC names only the first). */
  refused(replies: readonly Reply[]): number[];
}

const json = (reply: Reply): Record<string, unknown> => JSON.parse(reply.body) as Record<string, unknown>;
const eventsRefused = (replies: readonly Reply[]) =>
  replies.flatMap((reply) => (json(reply).errors as { index: number }[]).map((error) => error.index));

const JSON_HEADERS = { ...bearer(), 'content-type': 'application/json' };
const NDJSON_HEADERS = { ...bearer(), 'content-type': 'application/x-ndjson' };

/** Every ingest route and framing of the collector. */
export const ROUTES: readonly Route[] = [
  {
    name: '/v1/events JSON array',
    isolatesBrokenJson: false,
    requests: (records) => [{ url: '/v1/events', headers: JSON_HEADERS, payload: `[${records.join(',')}]` }],
    refused: eventsRefused,
  },
  {
    name: '/v1/events NDJSON',
    isolatesBrokenJson: true,
    requests: (records) => [{ url: '/v1/events', headers: NDJSON_HEADERS, payload: records.join('\n') }],
    refused: eventsRefused,
  },
  {
    name: '/ingest/<source> NDJSON',
    isolatesBrokenJson: true,
    requests: (records) => [{ url: '/ingest/agents', headers: NDJSON_HEADERS, payload: records.join('\n') }],
    refused: eventsRefused,
  },
  {
    name: 'Splunk HEC',
    isolatesBrokenJson: false,
    resendsAfterRefusal: true,
    requests: (records) => [
      {
        url: '/services/collector/event',
        headers: { authorization: `Splunk ${KEYS.ingest}`, 'content-type': 'application/json' },
        payload: records.map((record) => `{"time":1,"event":${record}}`).join('\n'),
      },
    ],
    refused: (replies) =>
      replies.flatMap((reply) => {
        const index = json(reply)['invalid-event-number'];
        return typeof index === 'number' ? [index] : [];
      }),
  },
  {
    name: 'OTLP logs',
    isolatesBrokenJson: true,
    requests: (records) => [
      {
        url: '/v1/logs',
        headers: JSON_HEADERS,
        payload: JSON.stringify({
          resourceLogs: [
            {
              scopeLogs: [
                {
                  logRecords: records.map((record) => ({
                    attributes: [{ key: 'hush.audit.raw_json', value: { stringValue: record } }],
                  })),
                },
              ],
            },
          ],
        }),
      },
    ],
    refused: (replies) =>
      replies.flatMap((reply) => {
        const message = (json(reply).partialSuccess as { errorMessage?: string } | undefined)?.errorMessage;
        return [...(message ?? '').matchAll(/(?:^|; )\[(\d+)\]/g)].map((match) => Number(match[1]));
      }),
  },
  {
    name: 'Elasticsearch _bulk',
    isolatesBrokenJson: true,
    requests: (records) => [
      {
        url: '/_bulk',
        headers: NDJSON_HEADERS,
        payload: `${records.map((record) => `{"index":{"_index":"edr"}}\n${record}`).join('\n')}\n`,
      },
    ],
    refused: (replies) =>
      replies.flatMap((reply) =>
        (json(reply).items as Record<string, { status: number }>[]).flatMap((item, index) =>
          Object.values(item)[0]!.status === 201 ? [] : [index],
        ),
      ),
  },
  {
    name: 'Elasticsearch _doc',
    isolatesBrokenJson: true,
    requests: (records) => records.map((payload) => ({ url: '/edr/_doc', headers: JSON_HEADERS, payload })),
    refused: (replies) => replies.flatMap((reply, index) => (reply.statusCode === 201 ? [] : [index])),
  },
];

export async function send(
  app: FastifyInstance,
  route: Route,
  records: readonly string[],
  { gzip = false } = {},
): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (const { url, headers, payload } of route.requests(records)) {
    const response = await app.inject(
      gzip
        ? {
            method: 'POST',
            url,
            headers: { ...headers, 'content-encoding': 'gzip' },
            payload: await gzipAsync(payload),
          }
        : { method: 'POST', url, headers, payload },
    );
    replies.push({ statusCode: response.statusCode, body: response.body });
  }
  return replies;
}

/**
 * Sends the records as the route's clients do: a HEC sender told the first invalid event resends what
 * followed it, until the rest is taken. Every reply, and the refused positions counted in `records`.
 */
export async function deliver(
  app: FastifyInstance,
  route: Route,
  records: readonly string[],
  options: { gzip?: boolean } = {},
): Promise<{ replies: Reply[]; refused: number[] }> {
  if (!route.resendsAfterRefusal) {
    const replies = await send(app, route, records, options);
    return { replies, refused: route.refused(replies) };
  }
  const replies: Reply[] = [];
  const refused: number[] = [];
  for (let from = 0; from < records.length; ) {
    const sent = await send(app, route, records.slice(from), options);
    replies.push(...sent);
    const [first] = route.refused(sent);
    if (first === undefined) break;
    refused.push(from + first);
    from += first + 1;
  }
  return { replies, refused };
}

const at = '2026-12-01T10:00:00.000Z';

/** A well-formed PolicyEvent (JSON text) with this id. */
export function goodRecord(id: string, agentId = 'agent-good'): string {
  return JSON.stringify({
    eventId: id,
    eventType: 'file_read',
    timestamp: at,
    agentId,
    sessionId: 'sess-1',
    data: { type: 'file', path: '/srv/project/README.md', operation: 'read' },
  });
}

/** A PolicyEvent with one part replaced by raw JSON text (so it can be what JSON.stringify cannot write). */
export function hostileRecord(id: string, part: { field: string; json: string }): string {
  return spliceJson(
    {
      eventId: id,
      eventType: 'file_read',
      timestamp: at,
      agentId: 'agent-hostile',
      sessionId: 'sess-1',
      data: { type: 'file', path: '/etc/passwd', operation: 'read' },
    },
    part,
  );
}

/** `base` as JSON text with each part's `field` (`top` or `top.nested`) set to its raw JSON text. */
export function spliceJson(
  base: Record<string, unknown>,
  parts: { field: string; json: string } | readonly { field: string; json: string }[],
): string {
  const raw = new Map<string, string>();
  const nested = new Map<string, Map<string, string>>();
  for (const { field, json } of Array.isArray(parts) ? parts : [parts]) {
    const [top, key] = field.split('.') as [string, string | undefined];
    if (key === undefined) raw.set(top, json);
    else nested.set(top, (nested.get(top) ?? new Map<string, string>()).set(key, json));
  }
  for (const [top, keys] of nested) {
    if (raw.has(top)) continue;
    const inner = typeof base[top] === 'object' && base[top] !== null ? { ...(base[top] as object) } : {};
    raw.set(top, withRaw(inner as Record<string, unknown>, keys));
  }
  return withRaw(base, raw);
}

/** `object` as JSON text, its keys in `raw` replaced by (or added as) those raw JSON texts. */
function withRaw(object: Record<string, unknown>, raw: ReadonlyMap<string, string>): string {
  const rest = { ...object };
  for (const key of raw.keys()) delete rest[key];
  const added = [...raw].map(([key, json]) => `${JSON.stringify(key)}:${json}`).join(',');
  const text = JSON.stringify(rest);
  return text === '{}' ? `{${added}}` : `${text.slice(0, -1)},${added}}`;
}
