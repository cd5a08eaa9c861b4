import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireElasticsearchUrl, uniqueIndexPrefix } from '../../test/support/elasticsearch.ts';
import { type RecordedRequest, ScriptedHttpServer } from '../../test/support/http-server.ts';
import { makeAlert, makeEnvelope } from '../../test/support/sink-items.ts';
import { createElasticsearchClient } from './client.ts';
import { ElasticsearchSinkConfigSchema } from './config.ts';
import { ElasticsearchSink } from './sink.ts';
import { clusterFieldTypes, clusterHasDataStreams, installTemplates } from './templates.ts';

/*
 * What the sink decides from asking the cluster: ECS field types and where alerts go. The real test
 * Elasticsearch (the integ-test distribution) has neither wildcard, match_only_text nor the data streams
 * API; a cluster that has them is a scripted HTTP server answering as Elasticsearch does.
 */

const config = (node: string, indexPrefix: string) =>
  ElasticsearchSinkConfigSchema.parse({
    type: 'elasticsearch',
    node,
    indexPrefix,
    templates: { replicas: 0 },
  });

describe('the real test Elasticsearch', () => {
  const prefix = uniqueIndexPrefix('decide');
  const client = createElasticsearchClient(config(requireElasticsearchUrl(), prefix));
  afterAll(async () => {
    await client.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => undefined);
    await client.close();
  });

  it('has no wildcard, match_only_text or data streams API, so the fallbacks and daily indices are used', async () => {
    expect(await clusterFieldTypes(client)).toEqual({ wildcard: false, matchOnlyText: false });
    expect(await clusterHasDataStreams(client)).toBe(false);
    const installed = await installTemplates(client, prefix);
    expect(installed).toEqual({
      names: [`${prefix}-events`, `${prefix}-alerts`],
      types: { wildcard: false, matchOnlyText: false },
      alertsDataStream: undefined,
    });
    const stored = await client.indices.getIndexTemplate({ name: `${prefix}-events` });
    const properties = stored.index_templates[0]!.index_template.template!.mappings!.properties!;
    expect(properties.message).toMatchObject({ type: 'text' });
    expect(
      (properties.process as { properties: Record<string, unknown> }).properties.command_line,
    ).toMatchObject({
      type: 'keyword',
    });
  });
});

describe('a cluster with ECS field types and data streams (scripted)', () => {
  let server: ScriptedHttpServer;
  const bulks: RecordedRequest[] = [];
  const templates = new Map<string, unknown>();
  const product = { 'x-elastic-product': 'Elasticsearch' };

  beforeAll(async () => {
    server = await ScriptedHttpServer.start((request) => {
      if (request.path.startsWith('/_data_stream/'))
        return {
          status: 404,
          headers: product,
          body: JSON.stringify({
            error: { type: 'index_not_found_exception', reason: 'no such index' },
            status: 404,
          }),
        };
      if (request.path.startsWith('/_index_template/_simulate'))
        return { status: 200, headers: product, body: JSON.stringify({ template: {}, overlapping: [] }) };
      if (request.path.startsWith('/_index_template/')) {
        templates.set(decodeURIComponent(request.path.split('/')[2]!), JSON.parse(request.body.toString()));
        return { status: 200, headers: product, body: JSON.stringify({ acknowledged: true }) };
      }
      if (request.path.startsWith('/_bulk')) {
        bulks.push(request);
        const lines = request.body.toString().trim().split('\n');
        const items = lines.filter((_, index) => index % 2 === 0).map(() => ({ create: { status: 201 } }));
        return { status: 200, headers: product, body: JSON.stringify({ errors: false, items }) };
      }
      return { status: 404, headers: product, body: '{}' };
    });
  });
  afterAll(() => server.close());

  it('maps ECS types and writes alerts to a logs-* data stream, events to their daily index', async () => {
    const sink = new ElasticsearchSink(config(server.url, 'edr-ds'));
    const event = makeEnvelope();
    const alert = makeAlert();
    const outcomes = await sink.write([
      { kind: 'event', event },
      { kind: 'alert', alert },
    ]);
    await sink.close();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['written', 'written']);

    const stream = 'logs-clawdstrike.alerts-edr_ds';
    expect([...templates.keys()].sort()).toEqual(['edr-ds-alerts', 'edr-ds-events', stream].sort());
    expect(templates.get(stream)).toMatchObject({
      index_patterns: [stream],
      data_stream: {},
      template: { mappings: { properties: { message: { type: 'match_only_text' } } } },
    });
    expect(templates.get('edr-ds-events')).toMatchObject({
      template: { mappings: { properties: { url: { properties: { full: { type: 'wildcard' } } } } } },
    });

    const actions = bulks
      .flatMap((request) => request.body.toString().trim().split('\n'))
      .filter((_, index) => index % 2 === 0)
      .map((line) => (JSON.parse(line) as { create: { _index: string } }).create._index);
    expect(actions).toEqual([`edr-ds-events-${event.timestamp.slice(0, 10).replaceAll('-', '.')}`, stream]);
  });
});
