import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCollectorConfig } from '../index.ts';
import { sha256Hex } from './support.ts';

const file = (name: string, text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'edr-config-')), name);
  writeFileSync(path, text);
  return path;
};

describe('collector config', () => {
  it('has working defaults', () => {
    const config = loadCollectorConfig({ env: {} });
    expect(config.server.port).toBe(8080);
    expect(config.transport.kind).toBe('memory');
    expect(config.transport.names.events).toBe('agent.events');
    expect(config.auth.required).toBe(true);
  });

  it('layers file < env < PORT < --port, coercing env strings to the schema types', () => {
    const path = file('c.yaml', 'server:\n  port: 7000\ningest:\n  maxRecordsPerRequest: 5\n');
    const config = loadCollectorConfig({
      file: path,
      env: {
        CLAWDSTRIKE_EDR_INGEST__MAX_RECORDS_PER_REQUEST: '50',
        CLAWDSTRIKE_EDR_RATE_LIMIT__ENABLED: 'false',
        CLAWDSTRIKE_EDR_TRANSPORT__KIND: 'kafka',
        CLAWDSTRIKE_EDR_TRANSPORT__KAFKA__BROKERS: 'a:9092, b:9092',
        CLAWDSTRIKE_EDR_SOURCES__HUSHD_CERTWEBHOOK__HMAC_SECRET: 's3cret',
        CLAWDSTRIKE_EDR_PROCESSOR__WHATEVER: 'belongs to another component',
        PORT: '7100',
      },
      port: '7200',
    });
    expect(config.server.port).toBe(7200);
    expect(config.ingest.maxRecordsPerRequest).toBe(50);
    expect(config.rateLimit.enabled).toBe(false);
    expect(config.transport.kafka.brokers).toEqual(['a:9092', 'b:9092']);
    expect(config.sources['hushd-certwebhook']?.hmacSecret).toBe('s3cret');
  });

  it('turns CLAWDSTRIKE_EDR_API_KEY into one hashed ingest key', () => {
    const config = loadCollectorConfig({ env: { CLAWDSTRIKE_EDR_API_KEY: 'plain-key' } });
    expect(config.auth.keys).toEqual([{ id: 'env', sha256: sha256Hex('plain-key'), scopes: ['ingest'] }]);
    expect(JSON.stringify(config)).not.toContain('plain-key');
  });

  it.each([
    [
      { CLAWDSTRIKE_EDR_INGEST__MAX_BODY_BYTES: 'lots' },
      /ingest\.maxBodyBytes \(CLAWDSTRIKE_EDR_INGEST__MAX_BODY_BYTES\): .*number/,
    ],
    [
      { CLAWDSTRIKE_EDR_TRANSPORT__KIND: 'kafka' },
      /transport\.kafka\.brokers: required when kind is "kafka"/,
    ],
    [{ CLAWDSTRIKE_EDR_SERVER__PROT: '1' }, /server\.prot \(CLAWDSTRIKE_EDR_SERVER__PROT\): unknown key/],
    [{ PORT: '99999' }, /server\.port \(PORT\): .*65535/],
  ])('fails with the exact key and reason: %j', (env, message) => {
    expect(() => loadCollectorConfig({ env })).toThrow(message);
  });

  it('names the file for problems found in it', () => {
    const path = file('c.json', JSON.stringify({ auth: { keys: [{ id: 'k', sha256: 'nope' }] } }));
    expect(() => loadCollectorConfig({ file: path, env: {} })).toThrow(
      new RegExp(`auth\\.keys\\.0\\.sha256 \\(in ${path}\\): expected the hex SHA-256`),
    );
    expect(() => loadCollectorConfig({ file: '/nonexistent.yaml', env: {} })).toThrow(
      /cannot read config file/,
    );
  });
});
