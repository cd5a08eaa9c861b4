import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.ts';
import { REPO_ROOT } from '../test/support/shared.ts';
import { FullConfigSchema, renderConfigReference } from './config-reference.ts';

describe('docs/configuration.md', () => {
  it('is current with the zod schemas (run `npm run docs:config` after changing one)', () => {
    expect(readFileSync(join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8')).toBe(renderConfigReference());
  });

  it('names environment variables the loader maps back to their keys', () => {
    const text = renderConfigReference();
    for (const [key, env] of [
      ['transport.kafka.brokers', 'CLAWDSTRIKE_EDR_TRANSPORT__KAFKA__BROKERS'],
      ['processor.maxBatchSize', 'CLAWDSTRIKE_EDR_PROCESSOR__MAX_BATCH_SIZE'],
      ['ingest.maxBodyBytes', 'CLAWDSTRIKE_EDR_INGEST__MAX_BODY_BYTES'],
    ] as const) {
      expect(text).toContain(`| \`${key}\` |`);
      expect(text).toContain(`\`${env}\``);
    }
    const config = loadConfig(FullConfigSchema, 'CLAWDSTRIKE_EDR_', {
      env: {
        CLAWDSTRIKE_EDR_TRANSPORT__KAFKA__BROKERS: 'k1:9092,k2:9092',
        CLAWDSTRIKE_EDR_PROCESSOR__MAX_BATCH_SIZE: '500',
        CLAWDSTRIKE_EDR_INGEST__MAX_BODY_BYTES: '1024',
      },
    });
    expect(config.transport.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(config.processor.maxBatchSize).toBe(500);
    expect(config.ingest.maxBodyBytes).toBe(1024);
  });
});
