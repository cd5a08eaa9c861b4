import { afterEach, describe, expect, it } from 'vitest';
import { ScriptedHttpServer, type ScriptedResponse } from '../../test/support/http-server.ts';
import { makeEnvelope } from '../../test/support/sink-items.ts';
import { MemoryDeadLetterWriter } from '../driver/dead-letter.ts';
import { SinkRouter } from '../router.ts';
import { routeFor } from '../shared/config.ts';
import { ElasticsearchSinkConfigSchema } from './config.ts';
import { ElasticsearchSink } from './sink.ts';

/**
 * Retry classification through the real client, against a server that answers like Elasticsearch does
 * under load (real 429s cannot be provoked on demand). The real-cluster tests are in elasticsearch.test.ts.
 */

const ES_HEADERS = { 'x-elastic-product': 'Elasticsearch' };

function bulkReply(statuses: number[]): ScriptedResponse {
  const items = statuses.map((status, index) => ({
    create: {
      _index: 'clawdstrike-events-2026.03.14',
      _id: `id-${index}`,
      status,
      ...(status >= 300 ? { error: { type: errorType(status), reason: `status ${status}` } } : {}),
    },
  }));
  return {
    status: 200,
    headers: ES_HEADERS,
    body: JSON.stringify({ took: 1, errors: statuses.some((s) => s >= 300), items }),
  };
}

function errorType(status: number): string {
  if (status === 409) return 'version_conflict_engine_exception';
  if (status === 429) return 'es_rejected_execution_exception';
  if (status === 400) return 'document_parsing_exception';
  return 'unavailable_shards_exception';
}

/** The `_id`s of a recorded `_bulk` body. */
function bulkIds(body: Buffer): string[] {
  return body
    .toString('utf8')
    .trim()
    .split('\n')
    .filter((_, index) => index % 2 === 0)
    .map((line) => (JSON.parse(line) as { create: { _id: string } }).create._id);
}

describe('Elasticsearch bulk retry classification', () => {
  let server: ScriptedHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  async function routerFor(responder: (call: number) => ScriptedResponse) {
    let call = 0;
    server = await ScriptedHttpServer.start(() => responder(++call));
    const config = ElasticsearchSinkConfigSchema.parse({
      type: 'elasticsearch',
      node: server.url,
      installTemplates: false,
      delivery: { retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 } },
    });
    const deadLetters = new MemoryDeadLetterWriter();
    const router = new SinkRouter([routeFor(new ElasticsearchSink(config), config)], { deadLetters });
    return { router, deadLetters, server };
  }

  it('resends only the 429 and 5xx items; 409 counts as already written; 400 is dead-lettered', async () => {
    const {
      router,
      deadLetters,
      server: es,
    } = await routerFor((call) =>
      call === 1 ? bulkReply([201, 429, 409, 503, 400]) : bulkReply([201, 201]),
    );
    const events = Array.from({ length: 5 }, () => makeEnvelope());

    const report = await router.deliver({ events });

    expect(report).toMatchObject({ written: 3, duplicates: 1, deadLettered: 1 });
    expect(es.requests.map((request) => bulkIds(request.body))).toEqual([
      events.map((event) => event.eventId),
      [events[1]!.eventId, events[3]!.eventId],
    ]);
    expect(deadLetters.letters).toHaveLength(1);
    expect(deadLetters.letters[0]).toMatchObject({ id: events[4]!.eventId, attempts: 1 });
    expect(deadLetters.letters[0]!.reason).toBe('400 document_parsing_exception: status 400');
    await router.close();
  });

  it('retries a whole-request 503 and gives up at once on 401', async () => {
    const busy = await routerFor((call) =>
      call === 1
        ? { status: 503, headers: ES_HEADERS, body: '{"error":"busy","status":503}' }
        : bulkReply([201]),
    );
    expect(await busy.router.deliver({ events: [makeEnvelope()] })).toMatchObject({ written: 1 });
    expect(busy.server.requests).toHaveLength(2);
    await busy.router.close();
    await busy.server.close();

    const denied = await routerFor(() => ({
      status: 401,
      headers: ES_HEADERS,
      body: '{"error":{"type":"security_exception","reason":"missing authentication credentials"},"status":401}',
    }));
    const report = await denied.router.deliver({ events: [makeEnvelope(), makeEnvelope()] });
    expect(report).toMatchObject({ written: 0, deadLettered: 2 });
    expect(denied.server.requests).toHaveLength(1);
    expect(denied.deadLetters.letters[0]!.reason).toMatch(/^HTTP 401: security_exception/);
    await denied.router.close();
  });

  it('retries when the connection is refused, then dead-letters after the budget', async () => {
    const { router, deadLetters, server: es } = await routerFor(() => bulkReply([201]));
    await es.close();
    server = undefined;
    const report = await router.deliver({ events: [makeEnvelope()] });
    expect(report.deadLettered).toBe(1);
    expect(deadLetters.letters[0]!.reason).toMatch(/retries exhausted after 3 attempts: ConnectionError/);
    await router.close();
  });
});
