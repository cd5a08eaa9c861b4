import { describe, expect, it } from 'vitest';
import { elasticsearchTarget, loadSetupConfig } from './index.ts';

const ENV = 'CLAWDSTRIKE_EDR_';

describe('setup config', () => {
  it('has working defaults: memory transport, a file sink, local Kibana', () => {
    const config = loadSetupConfig({ env: {} });
    expect(config.transport.kind).toBe('memory');
    expect(config.setup).toEqual({ kibanaUrl: 'http://127.0.0.1:5601', waitTimeoutMs: 180_000 });
    expect(elasticsearchTarget(config)).toBeUndefined();
  });

  it('reads CLAWDSTRIKE_EDR_<SECTION>__<KEY> env vars, and flags win over them', () => {
    const env = {
      [`${ENV}SETUP__KIBANA_URL`]: 'http://kibana:5601',
      [`${ENV}SETUP__WAIT_TIMEOUT_MS`]: '5000',
      [`${ENV}TRANSPORT__KIND`]: 'kafka',
      [`${ENV}TRANSPORT__KAFKA__BROKERS`]: 'kafka:9092,kafka2:9092',
      [`${ENV}COLLECTOR_ONLY_THING`]: 'ignored: a section this command does not know',
    };
    const config = loadSetupConfig({ env });
    expect(config.setup.kibanaUrl).toBe('http://kibana:5601');
    expect(config.setup.waitTimeoutMs).toBe(5000);
    expect(config.transport.kafka.brokers).toEqual(['kafka:9092', 'kafka2:9092']);
    const flagged = loadSetupConfig({ env }, { kibana: 'http://other:5601', timeoutSeconds: '7' });
    expect(flagged.setup).toMatchObject({ kibanaUrl: 'http://other:5601', waitTimeoutMs: 7000 });
  });

  it('names the bad key and where it came from', () => {
    expect(() => loadSetupConfig({ env: { [`${ENV}SETUP__KIBANA_URI`]: 'x' } })).toThrow(
      /setup\.kibanaUri \(CLAWDSTRIKE_EDR_SETUP__KIBANA_URI\): unknown key/,
    );
    expect(() => loadSetupConfig({ env: {} }, { kibana: 'not a url' })).toThrow(
      /setup\.kibanaUrl \(--kibana\)/,
    );
    expect(() => loadSetupConfig({ env: {} }, { timeoutSeconds: 'soon' })).toThrow(
      /setup\.waitTimeoutMs \(--timeout\)/,
    );
  });

  it('takes Elasticsearch from the first elasticsearch sink; the URL setting replaces only its node', () => {
    const sinks = {
      sinks: [
        { type: 'file' },
        {
          type: 'elasticsearch',
          node: 'https://es:9200',
          indexPrefix: 'edr',
          auth: { apiKey: 'a2V5' },
          templates: { replicas: 0 },
        },
        { type: 'elasticsearch', node: 'https://other:9200' },
      ],
    };
    const fromSink = elasticsearchTarget(
      loadSetupConfig({ env: {}, overrides: [{ path: ['sinks'], value: sinks, origin: 'test' }] }),
    );
    expect(fromSink).toMatchObject({
      connection: { node: 'https://es:9200', auth: { apiKey: 'a2V5' } },
      indexPrefix: 'edr',
      templates: { shards: 1, replicas: 0 },
    });
    const overridden = elasticsearchTarget(
      loadSetupConfig(
        { env: {}, overrides: [{ path: ['sinks'], value: sinks, origin: 'test' }] },
        { elasticsearch: 'http://127.0.0.1:9200' },
      ),
    );
    expect(overridden?.connection).toMatchObject({ node: 'http://127.0.0.1:9200', auth: { apiKey: 'a2V5' } });
    expect(
      elasticsearchTarget(loadSetupConfig({ env: {} }, { elasticsearch: 'http://127.0.0.1:9200' })),
    ).toMatchObject({
      connection: { node: 'http://127.0.0.1:9200' },
      indexPrefix: 'clawdstrike',
    });
  });
});
