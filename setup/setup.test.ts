import { Client } from '@elastic/elasticsearch';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMPLATE_VERSION } from '../sinks/index.ts';
import { requireElasticsearchUrl, uniqueIndexPrefix } from '../test/support/elasticsearch.ts';
import { dropTransportResources, isolatedTransportConfig, silentLogger } from '../transport/testing/index.ts';
import { loadSetupConfig, runSetup, type SetupConfig, SetupError } from './index.ts';
import { AVAILABLE, FakeKibana, NOT_READY } from './testing/fake-kibana.ts';
import { closedPort } from './testing/net.ts';

/** Setup against the real Elasticsearch and Kafka of the test harness, and a fake Kibana. */
describe('runSetup', () => {
  const esUrl = requireElasticsearchUrl();
  const prefix = uniqueIndexPrefix('setup');
  const transport = isolatedTransportConfig('kafka');
  const es = new Client({ node: esUrl });
  let kibana: FakeKibana;
  let config: SetupConfig;
  const lines: string[] = [];
  const deps = () => ({ log: (line: string) => lines.push(line), transportLogger: silentLogger });

  beforeAll(async () => {
    kibana = await FakeKibana.start({ statuses: [NOT_READY, AVAILABLE] });
    config = loadSetupConfig({
      env: {},
      overrides: [
        { path: ['transport'], value: transport, origin: 'test' },
        {
          path: ['sinks'],
          value: {
            sinks: [{ type: 'elasticsearch', node: esUrl, indexPrefix: prefix, templates: { replicas: 0 } }],
          },
          origin: 'test',
        },
        { path: ['setup'], value: { kibanaUrl: kibana.url, waitTimeoutMs: 30_000 }, origin: 'test' },
      ],
    });
  });

  afterAll(async () => {
    await kibana.close();
    await es.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => undefined);
    await es.close();
    await dropTransportResources(transport);
  });

  it('installs the templates, imports the dashboards and creates the topics, and can run again', async () => {
    await runSetup(config, {}, deps());
    await runSetup(config, {}, deps());

    const templates = await es.indices.getIndexTemplate({ name: `${prefix}-*` });
    expect(templates.index_templates.map((t) => [t.name, t.index_template.version]).sort()).toEqual([
      [`${prefix}-alerts`, TEMPLATE_VERSION],
      [`${prefix}-events`, TEMPLATE_VERSION],
    ]);
    expect(
      templates.index_templates.find((t) => t.name === `${prefix}-events`)?.index_template.template?.settings
        ?.index?.number_of_replicas,
    ).toBe('0');

    // Two imports with overwrite: the same ids, one copy each; data views follow the index prefix.
    expect(kibana.imports).toHaveLength(2);
    expect(kibana.store.size).toBe(kibana.imports[0]?.length);
    expect(kibana.store.get('index-pattern/clawdstrike-edr-events')?.attributes.title).toBe(
      `${prefix}-events-*`,
    );
    expect(kibana.store.has('dashboard/clawdstrike-edr-session-investigation')).toBe(true);

    const admin = new kafkajs.Kafka({
      brokers: transport.kafka.brokers,
      logLevel: kafkajs.logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const topics = new Set(await admin.listTopics());
      expect(Object.values(transport.names).filter((topic) => !topics.has(topic))).toEqual([]);
    } finally {
      await admin.disconnect();
    }

    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^elasticsearch: index templates .*-events, .*-alerts \(version \d+\) installed/,
        ),
        expect.stringMatching(/^kibana: imported \d+ saved objects \(2 index-pattern, .*3 dashboard/),
        expect.stringMatching(/^transport: Kafka at .*: topics .* ready/),
      ]),
    );
  });

  it('fails with the step and a precise message', async () => {
    const noEs = loadSetupConfig({ env: {} });
    await expect(runSetup(noEs, { skipKibana: true, skipTopics: true }, deps())).rejects.toThrow(
      /no Elasticsearch to install the index templates in: .*--elasticsearch URL/,
    );
    const url = `http://127.0.0.1:${await closedPort()}`;
    const unreachable = loadSetupConfig({ env: {} }, { elasticsearch: url, timeoutSeconds: '1' });
    const error = await runSetup(unreachable, { skipKibana: true, skipTopics: true }, deps()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SetupError);
    expect((error as SetupError).step).toBe('elasticsearch');
    expect((error as SetupError).message).toMatch(
      new RegExp(`^Elasticsearch at ${url}: not ready after 1s \\(last error: .*ECONNREFUSED.*\\)$`),
    );
  });

  it('skips what it is told to skip', async () => {
    const before = kibana.requests.length;
    lines.length = 0;
    await runSetup(config, { skipTemplates: true, skipKibana: true, skipTopics: true }, deps());
    expect(kibana.requests.length).toBe(before);
    expect(lines).toEqual([
      'elasticsearch: skipped (--skip-templates)',
      'kibana: skipped (--skip-kibana)',
      'transport: skipped (--skip-topics)',
    ]);
  });
});
