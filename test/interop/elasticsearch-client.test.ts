import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client, errors } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BROKERS, type BrokerCollector, brokerCollectors, envelopeOf } from '../../collector/test/brokers.ts';
import { KEYS } from '../../collector/test/support.ts';
import type { Envelope } from '../../engine/model/index.ts';
import { createElasticsearchClient, ElasticsearchSinkConfigSchema } from '../../sinks/index.ts';
import type { Message } from '../../transport/index.ts';
import { collect } from '../../transport/testing/index.ts';
import { requireElasticsearchUrl, uniqueIndexPrefix } from '../support/elasticsearch.ts';
import { processorConfig, removeDir, startProcessor, tempDir } from '../support/pipeline.ts';

/*
 * The official Elasticsearch client (the pinned @elastic/elasticsearch), unmodified, pointed at a collector
 * on the real Kafka transport: info, ping, index with and without an id, create, and helpers.bulk. What
 * landed on the events topic is counted by event id, and a processor writes it to the real Elasticsearch
 * sink, where a resend of the same documents must not add a single one.
 */

const [KAFKA] = BROKERS;
const run = randomUUID().slice(0, 8);

/** A Filebeat document as its elasticsearch output sends it: ECS, no `event.id`; `agent` tells tests apart. */
function filebeatDocument(line: number, extra: Record<string, unknown> = {}, agent = 'single') {
  return {
    '@timestamp': new Date(Date.now() - 60_000 + line).toISOString(),
    message: `agent ${run} ran step ${line}`,
    ecs: { version: '8.17.0' },
    agent: { type: 'filebeat', id: `filebeat-${run}-${agent}`, name: 'host-1', version: '9.0.0' },
    host: { name: 'host-1' },
    log: { file: { path: '/var/log/agent.log' }, offset: line * 100 },
    input: { type: 'filestream' },
    ...extra,
  };
}

/** An Auditbeat-style process start: mapped to command_exec by event.category. */
function processStart(line: number, agent = 'single') {
  return filebeatDocument(
    line,
    {
      event: { category: ['process'], type: ['start'], action: 'executed', outcome: 'success' },
      process: { command_line: `curl -s https://example.test/${run}/${line}`, executable: '/usr/bin/curl' },
    },
    agent,
  );
}

/** The envelopes of one test's documents. */
function envelopesOf(messages: readonly Message[], agent = 'single'): Envelope[] {
  return messages.map(envelopeOf).filter((envelope) => envelope.agentId === `filebeat-${run}-${agent}`);
}

const idsOf = (envelopes: readonly Envelope[]) => envelopes.map((envelope) => envelope.eventId);

describe('official @elastic/elasticsearch client → collector (Kafka) → processor → Elasticsearch', () => {
  const open = brokerCollectors();
  const node = requireElasticsearchUrl();
  const indexPrefix = uniqueIndexPrefix('es-client');
  const es = createElasticsearchClient(ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node }));
  let collector: BrokerCollector;
  let client: Client;
  let directory: string;
  let stopProcessor: () => Promise<void>;

  beforeAll(async () => {
    collector = await open(KAFKA);
    await collector.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = collector.app.server.address() as AddressInfo;
    client = new Client({ node: `http://127.0.0.1:${port}`, auth: { apiKey: KEYS.ingest } });
    directory = await tempDir('es-client');
    const processor = await startProcessor(
      processorConfig(collector.config, {
        group: `es-client-${run}`,
        directory,
        sinks: [
          {
            type: 'elasticsearch',
            node,
            indexPrefix,
            refresh: true,
            templates: { replicas: 0 },
            delivery: { batchSize: 50, flushIntervalMs: 50 },
          },
        ],
      }),
    );
    stopProcessor = () => processor.stop();
  });

  afterAll(async () => {
    await client?.close();
    await stopProcessor?.();
    const indices = Object.keys(await es.indices.get({ index: `${indexPrefix}-*`, allow_no_indices: true }));
    if (indices.length > 0) await es.indices.delete({ index: indices });
    await es.indices.deleteIndexTemplate({ name: `${indexPrefix}-*` }).catch(() => undefined);
    await es.close();
    await removeDir(directory);
  });

  /** How many documents of each event id the sink stored, once at least `ids` are there. */
  async function storedCounts(ids: readonly string[]): Promise<Map<string, number>> {
    let counts = new Map<string, number>();
    await vi.waitFor(
      async () => {
        const found = await es.search<{ event: { id: string } }>({
          index: `${indexPrefix}-events-*`,
          allow_no_indices: true,
          size: 1_000,
          query: { terms: { 'event.id': [...ids] } },
          _source: ['event.id'],
        });
        counts = new Map();
        for (const hit of found.hits.hits) {
          const id = hit._source!.event.id;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        if (!ids.every((id) => counts.has(id))) throw new Error(`stored ${counts.size} of ${ids.length}`);
      },
      { timeout: 30_000, interval: 250 },
    );
    return counts;
  }

  it('info and ping answer as Elasticsearch 9', async () => {
    const info = await client.info();
    expect(info.version.number).toMatch(/^9\./);
    expect(info.tagline).toBe('You Know, for Search');
    expect(await client.ping()).toBe(true);
  });

  it('answers the same under /ingest/<source>, where a shipper may be pointed', async () => {
    const { port } = collector.app.server.address() as AddressInfo;
    const shipper = new Client({
      node: `http://127.0.0.1:${port}/ingest/filebeat`,
      auth: { apiKey: KEYS.ingest },
    });
    try {
      expect((await shipper.info()).version.number).toMatch(/^9\./);
      const reply = await shipper.index({
        index: 'logs-agent',
        id: `doc-${run}-src`,
        document: processStart(9),
      });
      expect(reply).toMatchObject({ result: 'created', _id: `doc-${run}-src` });
      const messages = await collect(collector.transport, 'events', {
        until: (so) => idsOf(envelopesOf(so)).includes(`doc-${run}-src`),
        settleMs: 200,
      });
      expect(idsOf(envelopesOf(messages)).filter((id) => id === `doc-${run}-src`)).toHaveLength(1);
    } finally {
      await shipper.close();
    }
  });

  it('a refused key is an Elasticsearch 401, not a product check failure', async () => {
    const { port } = collector.app.server.address() as AddressInfo;
    const stranger = new Client({ node: `http://127.0.0.1:${port}`, auth: { apiKey: 'not-a-key' } });
    try {
      await expect(stranger.info()).rejects.toMatchObject({
        name: 'ResponseError',
        statusCode: 401,
        headers: { 'x-elastic-product': 'Elasticsearch' },
      });
    } finally {
      await stranger.close();
    }
  });

  it('index without id, index with id and create store what the replies say, no throw', async () => {
    const withoutId = await client.index({ index: 'logs-agent', document: filebeatDocument(1) });
    const withId = await client.index({
      index: 'logs-agent',
      id: `doc-${run}-2`,
      document: processStart(2),
    });
    const created = await client.create({
      index: 'logs-agent',
      id: `doc-${run}-3`,
      document: processStart(3),
    });
    for (const reply of [withoutId, withId, created]) expect(reply.result).toBe('created');
    expect(withoutId._id).toMatch(/^ecs-[0-9a-f]{32}$/);
    expect([withId._id, created._id]).toEqual([`doc-${run}-2`, `doc-${run}-3`]);

    const ids = [withoutId._id, withId._id, created._id];
    const messages = await collect(collector.transport, 'events', {
      until: (so) => ids.every((id) => idsOf(envelopesOf(so)).includes(id)),
      settleMs: 500,
    });
    const envelopes = new Map(envelopesOf(messages).map((envelope) => [envelope.eventId, envelope]));
    expect(envelopes.get(withoutId._id)).toMatchObject({
      eventType: 'custom',
      source: { emitter: 'filebeat' },
    });
    expect(envelopes.get(withId._id)).toMatchObject({
      eventType: 'command_exec',
      target: `curl -s https://example.test/${run}/2`,
    });
    expect(Object.fromEntries(await storedCounts(ids))).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
  });

  it('a document the collector refuses is an error the client reports as Elasticsearch would', async () => {
    const refused = client.index({
      index: 'logs-agent',
      document: { '@timestamp': 'not a time', agent: {} },
    });
    await expect(refused).rejects.toBeInstanceOf(errors.ResponseError);
    await expect(refused).rejects.toMatchObject({
      statusCode: 400,
      body: { error: { type: 'document_parsing_exception' } },
    });
  });

  it('helpers.bulk lands every document once; resending the same documents adds none', async () => {
    const documents = Array.from({ length: 40 }, (_, line) =>
      line % 2 === 0 ? filebeatDocument(line, {}, 'bulk') : processStart(line, 'bulk'),
    );
    // Every second one goes with an _id of its own (create), the others without (their digest is the id).
    const named = Array.from({ length: 20 }, (_, index) => `bulk-${run}-${2 * index + 1}`);
    const bulk = async () => {
      const dropped: unknown[] = [];
      let position = 0;
      const stats = await client.helpers.bulk({
        datasource: documents,
        flushBytes: 4_000,
        onDocument: () => {
          const id = position % 2 === 1 ? `bulk-${run}-${position}` : undefined;
          position++;
          return id ? { create: { _index: 'logs-agent', _id: id } } : { index: { _index: 'logs-agent' } };
        },
        onDrop: (item) => dropped.push(item),
      });
      expect(dropped).toEqual([]);
      return stats;
    };
    const stats = await bulk();
    expect([stats.total, stats.successful, stats.failed]).toEqual([40, 40, 0]);
    const first = await collect(collector.transport, 'events', {
      until: (so) => envelopesOf(so, 'bulk').length >= 40,
      settleMs: 500,
    });
    const ids = idsOf(envelopesOf(first, 'bulk'));
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
    expect(ids.filter((id) => id.startsWith('bulk-')).sort()).toEqual([...named].sort());
    expect(ids.filter((id) => /^ecs-[0-9a-f]{32}$/.test(id))).toHaveLength(20);
    expect(Object.fromEntries(await storedCounts(ids))).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));

    const again = await bulk();
    expect([again.successful, again.failed]).toEqual([40, 0]);
    const both = await collect(collector.transport, 'events', {
      until: (so) => envelopesOf(so, 'bulk').length >= 80,
      settleMs: 500,
    });
    // The resend is published again under the same ids (the transport is at-least-once) ...
    expect(idsOf(envelopesOf(both, 'bulk')).sort()).toEqual([...ids, ...ids].sort());
    // ... and the sink still holds each once. The sentinel goes after the copies on their partition (same
    // agent and session, so the same key): once it is stored, the processor has handled the copies.
    const sentinel = await client.index({ index: 'logs-agent', document: filebeatDocument(99, {}, 'bulk') });
    await storedCounts([sentinel._id]);
    const stored = await es.count({
      index: `${indexPrefix}-events-*`,
      query: { terms: { 'event.id': ids } },
    });
    expect(stored.count).toBe(40);
  });

  it('a refused bulk item reaches onDrop with the status Elasticsearch gives it; its siblings land', async () => {
    const dropped: { status: number; error: { type: string } | null }[] = [];
    // An unreadable time, and an _id past limits.record.maxIdBytes (256 bytes): each refused alone.
    const documents = [filebeatDocument(500), { '@timestamp': 'never', agent: {} }, filebeatDocument(501)];
    documents.push(filebeatDocument(502));
    let position = 0;
    const stats = await client.helpers.bulk({
      datasource: documents,
      onDocument: () =>
        position++ === 3
          ? { create: { _index: 'logs-agent', _id: 'x'.repeat(5_000) } }
          : { index: { _index: 'logs-agent' } },
      onDrop: (item) => dropped.push({ status: item.status, error: item.error }),
    });
    expect([stats.successful, stats.failed]).toEqual([2, 2]);
    expect(dropped).toEqual([
      { status: 400, error: expect.objectContaining({ type: 'document_parsing_exception' }) },
      {
        status: 400,
        error: expect.objectContaining({ reason: expect.stringContaining('limits.record.maxIdBytes') }),
      },
    ]);
  });
});
