import { afterEach, describe, expect, it, vi } from 'vitest';
import { ScriptedHttpServer, type ScriptedResponse } from '../../test/support/http-server.ts';
import { makeEnvelope } from '../../test/support/sink-items.ts';
import { MemoryDeadLetterWriter } from '../driver/dead-letter.ts';
import { SinkRouter } from '../router.ts';
import { routeFor } from '../shared/config.ts';
import { ElasticsearchSinkConfigSchema } from './config.ts';
import { documentId } from './documents.ts';
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
  if (status === 500) return 'null_pointer_exception';
  return 'unavailable_shards_exception';
}

const eventId = (event: ReturnType<typeof makeEnvelope>) => documentId({ kind: 'event', event });

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

  it('resends the 429 and 503 items, counts 409 as written, dead-letters the 400 only', async () => {
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
      events.map(eventId),
      [eventId(events[1]!), eventId(events[3]!)],
    ]);
    expect(deadLetters.letters).toHaveLength(1);
    expect(deadLetters.letters[0]).toMatchObject({
      id: events[4]!.eventId,
      attempts: 1,
      code: 'document_parsing_exception',
    });
    expect(deadLetters.letters[0]!.reason).toBe(
      '400 document_parsing_exception in clawdstrike-events-2026.03.14: status 400',
    );
    await router.close();
  });

  it('holds an unexplained 5xx against the one document, and dead-letters it after retry.attempts', async () => {
    const {
      router,
      deadLetters,
      server: es,
    } = await routerFor((call) => (call === 1 ? bulkReply([201, 500]) : bulkReply([500])));
    const events = [makeEnvelope(), makeEnvelope()];
    expect(await router.deliver({ events })).toMatchObject({ written: 1, deadLettered: 1 });
    expect(es.requests).toHaveLength(3);
    expect(deadLetters.letters[0]).toMatchObject({ id: events[1]!.eventId, code: 'retries_exhausted' });
    expect(deadLetters.letters[0]!.reason).toMatch(
      /^failed 3 times on its own: 500 null_pointer_exception in clawdstrike-events-2026\.03\.14/,
    );
    await router.close();
  });

  it('retries a whole-request 503; holds the batch on 401, not ready, until the credentials work', async () => {
    const busy = await routerFor((call) =>
      call === 1
        ? { status: 503, headers: ES_HEADERS, body: '{"error":"busy","status":503}' }
        : bulkReply([201]),
    );
    expect(await busy.router.deliver({ events: [makeEnvelope()] })).toMatchObject({ written: 1 });
    expect(busy.server.requests).toHaveLength(2);
    await busy.router.close();
    await busy.server.close();

    let authorized = false;
    const denied = await routerFor(() =>
      authorized
        ? bulkReply([201, 201])
        : {
            status: 401,
            headers: ES_HEADERS,
            body: '{"error":{"type":"security_exception","reason":"missing authentication credentials"},"status":401}',
          },
    );
    const delivered = denied.router.deliver({ events: [makeEnvelope(), makeEnvelope()] });
    await vi.waitFor(() => expect(denied.server.requests.length).toBeGreaterThanOrEqual(3));
    const health = denied.router.health();
    expect(health.ready).toBe(false);
    expect(health.routes[0]!.reason).toMatch(/^HTTP 401: security_exception/);
    authorized = true;
    expect(await delivered).toMatchObject({ written: 2, deadLettered: 0 });
    expect(denied.deadLetters.letters).toEqual([]);
    expect(denied.router.health().ready).toBe(true);
    await denied.router.close();
  });

  it('splits a bulk refused as a whole (HTTP 400) until the one bad document is alone', async () => {
    const events = Array.from({ length: 4 }, () => makeEnvelope());
    const culprit = eventId(events[2]!);
    const { router, deadLetters } = await routerFor(() => bulkReply([201]));
    server!.respondWith((request) => {
      const ids = bulkIds(request.body);
      if (ids.includes(culprit)) {
        return {
          status: 400,
          headers: ES_HEADERS,
          body: '{"error":{"type":"action_request_validation_exception","reason":"Validation Failed"},"status":400}',
        };
      }
      return bulkReply(ids.map(() => 201));
    });
    expect(await router.deliver({ events })).toMatchObject({ written: 3, deadLettered: 1 });
    expect(deadLetters.letters).toMatchObject([{ id: events[2]!.eventId, code: 'http_400' }]);
    await router.close();
  });

  it('keeps retrying while the connection is refused and never dead-letters; an interrupt stops it', async () => {
    const { router, deadLetters, server: es } = await routerFor(() => bulkReply([201]));
    await es.close();
    server = undefined;
    const delivered = router.deliver({ events: [makeEnvelope()] });
    await vi.waitFor(() => expect(router.stats()[0]!.retries).toBeGreaterThanOrEqual(5));
    expect(router.health().routes[0]!.reason).toMatch(/ConnectionError/);
    router.interruptRetries();
    await expect(delivered).rejects.toThrow(/stopped waiting/);
    expect(deadLetters.letters).toEqual([]);
    await router.close();
  });
});
