/**
 * Issue 13, item 6 (and the Elasticsearch side of item 5): one document must not empty a batch. Against the
 * real Elasticsearch, each attack is shown twice: what the cluster does with the document as it was sent
 * before (the whole `_bulk` refused, or the document refused, or one index per date), and what the sink does
 * now with the same document in a batch of other agents' events and alerts: everything lands, counted by id,
 * and only a document the cluster still refuses is dead-lettered, alone, logged and counted in /metrics.
 */
import type { Client } from '@elastic/elasticsearch';
import { errors } from '@elastic/elasticsearch';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, Envelope } from '../../engine/index.ts';
import {
  createElasticsearchClient,
  createSinkRouter,
  documentId,
  ElasticsearchSinkConfigSchema,
  eventDocument,
  indexName,
  MemoryDeadLetterWriter,
  registerSinkMetrics,
  type SinkRouter,
  SinksConfigSchema,
} from '../../sinks/index.ts';
import { requireElasticsearchUrl, uniqueIndexPrefix } from '../support/elasticsearch.ts';
import { capturingLogger, metricValue } from '../support/pipeline.ts';
import { makeAlert, makeEnvelope, uniqueId } from '../support/sink-items.ts';
import { countsById, deleteIndices, notExactlyOnce } from './sinks-support.ts';

const AGENTS = ['agent-a', 'agent-b', 'agent-c'];
const RECEIVED = '2026-03-14T09:26:54.000Z';

/** A batch as a processor would hand it over: several agents' events and their alerts. */
function mixedBatch(events: number, alerts: number): { events: Envelope[]; alerts: Alert[] } {
  return {
    events: Array.from({ length: events }, (_, index) =>
      makeEnvelope({ agentId: AGENTS[index % AGENTS.length]!, receivedAt: RECEIVED }),
    ),
    alerts: Array.from({ length: alerts }, (_, index) =>
      makeAlert({ agentId: AGENTS[index % AGENTS.length]! }),
    ),
  };
}

function nested(levels: number): Record<string, unknown> {
  let node: Record<string, unknown> = { leaf: 'x' };
  for (let level = 1; level < levels; level++) node = { nested: node };
  return node;
}

describe('Elasticsearch: one document never empties a batch', () => {
  const prefix = uniqueIndexPrefix('es-isolation');
  const deadLetters = new MemoryDeadLetterWriter();
  const { log, lines } = capturingLogger('warn');
  const registry = new Registry();
  let client: Client;
  let router: SinkRouter;

  const eventCounts = (events: readonly Envelope[]) =>
    countsById(
      client,
      `${prefix}-events-*`,
      'event.id',
      events.map((event) => event.eventId),
    );
  const alertCounts = (alerts: readonly Alert[]) =>
    countsById(
      client,
      `${prefix}-alerts-*`,
      'event.id',
      alerts.map((alert) => alert.alertId),
    );

  beforeAll(async () => {
    const node = requireElasticsearchUrl();
    client = createElasticsearchClient(ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node }));
    const config = SinksConfigSchema.parse({
      sinks: [
        {
          type: 'elasticsearch',
          node,
          indexPrefix: prefix,
          templates: { replicas: 0 },
          delivery: { retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 50 } },
        },
      ],
    });
    router = createSinkRouter(config, { deadLetters, log, elasticsearchClient: client });
    registerSinkMetrics(registry, router);
    await router.start();
  });

  afterAll(async () => {
    await deleteIndices(client, prefix);
    await deleteIndices(client, `${prefix}-raw`);
    await router.close();
    await client.close();
  });

  it('control: a batch of 300 events and 30 alerts of three agents lands whole', async () => {
    const batch = mixedBatch(300, 30);
    expect(await router.deliver(batch)).toMatchObject({ written: 330, deadLettered: 0 });
    expect(notExactlyOnce(await eventCounts(batch.events))).toEqual([]);
    expect(notExactlyOnce(await alertCounts(batch.alerts))).toEqual([]);
  });

  it('a 600-byte eventId: Elasticsearch refuses the whole _bulk; the sink writes all 221 items', async () => {
    const batch = mixedBatch(200, 20);
    const hostile = makeEnvelope({
      agentId: 'attacker',
      eventId: `evt-${'x'.repeat(596)}`,
      receivedAt: RECEIVED,
    });

    // As sent before (`_id` = eventId): the cluster refuses the request, every item of it.
    const before = await client
      .bulk({
        index: `${prefix}-raw-events`,
        operations: [hostile, ...batch.events.slice(0, 50)].flatMap((event) => [
          { create: { _id: event.eventId } },
          eventDocument(event),
        ]),
      })
      .catch((error: unknown) => error);
    expect(before).toBeInstanceOf(errors.ResponseError);
    expect((before as errors.ResponseError).statusCode).toBe(400);
    expect((before as errors.ResponseError).message).toMatch(
      /action_request_validation_exception.*id .* too long/,
    );

    const report = await router.deliver({ events: [...batch.events, hostile], alerts: batch.alerts });
    expect(report).toMatchObject({ written: 221, deadLettered: 0 });
    expect(notExactlyOnce(await eventCounts([...batch.events, hostile]))).toEqual([]);
    expect(notExactlyOnce(await alertCounts(batch.alerts))).toEqual([]);
    // Stored under the digest of (agentId, eventId), the original id kept in event.id.
    const stored = await client.get<{ event: { id: string } }>({
      index: indexName(prefix, 'event', hostile.timestamp),
      id: documentId({ kind: 'event', event: hostile }),
    });
    expect(stored._source?.event.id).toBe(hostile.eventId);
  });

  it('data nested 30 deep: Elasticsearch refuses the document; the sink stores it with that subtree as text', async () => {
    const batch = mixedBatch(100, 10);
    const hostile = makeEnvelope({
      agentId: 'attacker',
      eventType: 'tool_call',
      target: 'mcp__deep',
      data: { type: 'tool', toolName: 'mcp__deep', parameters: nested(30) },
      receivedAt: RECEIVED,
    });

    const before = await client.bulk({
      index: `${prefix}-raw-events`,
      operations: [{ create: { _id: uniqueId('raw') } }, eventDocument(hostile)],
    });
    expect(before.items[0]?.create?.status).toBe(400);
    expect(before.items[0]?.create?.error?.type).toBe('document_parsing_exception');

    const report = await router.deliver({ events: [...batch.events, hostile], alerts: batch.alerts });
    expect(report).toMatchObject({ written: 111, deadLettered: 0 });
    expect(notExactlyOnce(await eventCounts([...batch.events, hostile]))).toEqual([]);
    expect(notExactlyOnce(await alertCounts(batch.alerts))).toEqual([]);
    const flagged = await client.count({
      index: `${prefix}-events-*`,
      query: { term: { 'clawdstrike.adjusted_fields': 'clawdstrike.data' } },
    });
    expect(flagged.count).toBe(1);
  });

  it('dates from year 0000 to 9999: 400 would-be daily indices become one, the receive day', async () => {
    const years = Array.from({ length: 400 }, (_, index) => index * 25);
    const hostile = years.map((year) =>
      makeEnvelope({
        agentId: 'attacker',
        timestamp: `${String(year).padStart(4, '0')}-06-15T12:00:00.000Z`,
        receivedAt: '2026-05-20T10:00:00.000Z',
      }),
    );
    // The control: a late event from two days before arrival keeps its own day.
    const late = makeEnvelope({
      timestamp: '2026-05-18T23:00:00.000Z',
      receivedAt: '2026-05-20T10:00:00.000Z',
    });
    const asBefore = new Set(hostile.map((event) => indexName(prefix, 'event', event.timestamp)));
    expect(asBefore.size).toBe(400);

    const report = await router.deliver({ events: [...hostile, late] });
    expect(report).toMatchObject({ written: 401, deadLettered: 0 });
    expect(notExactlyOnce(await eventCounts([...hostile, late]))).toEqual([]);
    const made = Object.keys(
      await client.indices.get({
        index: [`${prefix}-events-0*`, `${prefix}-events-1*`, `${prefix}-events-9*`],
      }),
    );
    expect(made).toEqual([]);
    const may = Object.keys(await client.indices.get({ index: `${prefix}-events-2026.05.*` })).sort();
    expect(may).toEqual([`${prefix}-events-2026.05.18`, `${prefix}-events-2026.05.20`]);
  });

  it('an old daily index under a write block (retention) holds nothing: its items go to the receive day', async () => {
    const old = makeEnvelope({
      agentId: 'attacker',
      timestamp: '2026-03-10T01:00:00.000Z',
      receivedAt: RECEIVED,
    });
    // The index of 2026-03-10 exists and is made read-only, as retention does with old days.
    const first = makeEnvelope({
      timestamp: '2026-03-10T00:30:00.000Z',
      receivedAt: '2026-03-10T00:30:01.000Z',
    });
    expect(await router.deliver({ events: [first] })).toMatchObject({ written: 1 });
    const blocked = `${prefix}-events-2026.03.10`;
    await client.indices.putSettings({ index: blocked, settings: { 'index.blocks.write': true } });
    const before = await client.bulk({
      index: blocked,
      operations: [{ create: { _id: uniqueId('raw') } }, eventDocument(old)],
    });
    expect(before.items[0]?.create?.status).toBe(403);
    expect(before.items[0]?.create?.error?.type).toBe('cluster_block_exception');

    const batch = mixedBatch(100, 10);
    const letters = deadLetters.letters.length;
    const report = await router.deliver({ events: [...batch.events, old], alerts: batch.alerts });

    expect(report).toMatchObject({ written: 111, deadLettered: 0 });
    expect(deadLetters.letters.length).toBe(letters);
    expect(router.health().ready).toBe(true);
    expect(notExactlyOnce(await eventCounts([...batch.events, old]))).toEqual([]);
    const moved = await client.get({
      index: indexName(prefix, 'event', RECEIVED),
      id: documentId({ kind: 'event', event: old }),
    });
    expect(moved.found).toBe(true);
    await client.indices.putSettings({ index: blocked, settings: { 'index.blocks.write': false } });
  });

  it('a document the cluster still refuses is dead-lettered alone, logged, and counted by sink and reason', async () => {
    // An index made outside the templates, where agent.id is a number: documents of that day cannot go in.
    const conflicting = `${prefix}-events-2026.03.15`;
    await client.indices.create({
      index: conflicting,
      mappings: { properties: { agent: { properties: { id: { type: 'long' } } } } },
    });
    const batch = mixedBatch(150, 15);
    const refused = makeEnvelope({
      agentId: 'attacker',
      timestamp: '2026-03-15T01:00:00.000Z',
      receivedAt: RECEIVED,
    });
    const before = deadLetters.letters.length;

    const report = await router.deliver({ events: [...batch.events, refused], alerts: batch.alerts });

    expect(report).toMatchObject({ written: 165, deadLettered: 1 });
    expect(notExactlyOnce(await eventCounts(batch.events))).toEqual([]);
    expect(notExactlyOnce(await alertCounts(batch.alerts))).toEqual([]);
    const letters = deadLetters.letters.slice(before);
    expect(letters).toMatchObject([
      {
        sink: 'elasticsearch',
        kind: 'event',
        id: refused.eventId,
        code: 'document_parsing_exception',
        attempts: 1,
      },
    ]);
    expect(letters[0]!.reason).toMatch(
      new RegExp(`^400 document_parsing_exception in ${conflicting}: .*\\[agent\\.id\\] of type \\[long\\]`),
    );
    const logged = lines.filter((line) => line.msg === 'item dead-lettered');
    expect(logged).toMatchObject([
      { sink: 'elasticsearch', id: refused.eventId, code: 'document_parsing_exception' },
    ]);
    expect(logged[0]!.reason).toBe(letters[0]!.reason);

    const metrics = await registry.metrics();
    const stats = router.stats()[0]!;
    expect(
      metricValue(metrics, 'edr_sink_dead_letters_total', {
        sink: 'elasticsearch',
        reason: 'document_parsing_exception',
      }),
    ).toBe(1);
    expect(metricValue(metrics, 'edr_sink_items_written_total', { sink: 'elasticsearch' })).toBe(
      stats.written,
    );
    expect(stats.written).toBe(330 + 221 + 111 + 401 + 1 + 111 + 165);
    expect(metricValue(metrics, 'edr_sink_ready', { sink: 'elasticsearch' })).toBe(1);
    expect(metricValue(metrics, 'edr_sink_failing_seconds', { sink: 'elasticsearch' })).toBe(0);
  });
});
