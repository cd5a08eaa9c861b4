import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createProcessor } from '../../cli/commands/processor.ts';
import { buildCollector } from '../../collector/index.ts';
import { collectorConfig, KEYS, sha256Hex } from '../../collector/test/support.ts';
import type { Processor } from '../../processor/index.ts';
import { ProcessorConfigSchema } from '../../processor/index.ts';
import { createTransport, TransportConfigSchema } from '../../transport/index.ts';

/** The processor's /metrics had no auth option; now it takes the collector's key config and check. */
const keys = [
  { id: 'ingest', sha256: sha256Hex(KEYS.ingest), scopes: ['ingest'] },
  { id: 'read', sha256: sha256Hex(KEYS.read), scopes: ['read'] },
];

let processor: Processor | undefined;
afterEach(async () => {
  await processor?.stop();
  processor = undefined;
});

async function startProcessor(auth: Record<string, unknown>): Promise<string> {
  const config = ProcessorConfigSchema.parse({
    processor: { host: '127.0.0.1', port: 0, watch: false, checkpoints: false, auth: { keys, ...auth } },
    transport: { kind: 'memory' },
  });
  const transport = createTransport(TransportConfigSchema.parse({ kind: 'memory' }), {
    logger: { error() {}, warn() {}, info() {}, debug() {} },
  });
  processor = createProcessor(config, pino({ level: 'silent' }), transport);
  await processor.start();
  return `${processor.address}/metrics`;
}

const status = async (url: string, key?: string) =>
  (await fetch(url, key ? { headers: { authorization: `Bearer ${key}` } } : {})).status;

describe('processor /metrics', () => {
  it('control: open when auth.metricsScope is none (the default)', async () => {
    const url = await startProcessor({});
    expect(await status(url)).toBe(200);
  });

  it('with auth.metricsScope read: 401 without a key, 403 with an ingest key, 200 with a read key', async () => {
    const url = await startProcessor({ metricsScope: 'read' });
    expect(await status(url)).toBe(401);
    expect(await status(url, 'guess')).toBe(401);
    expect(await status(url, KEYS.ingest)).toBe(403);
    const response = await fetch(url, { headers: { authorization: `Bearer ${KEYS.read}` } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('edr_processor_');
  });

  it('answers as the collector does for the same auth section', async () => {
    const auth = { keys, metricsScope: 'read' };
    const url = await startProcessor({ metricsScope: 'read' });
    const collector = await buildCollector(collectorConfig({ auth }));
    try {
      for (const key of [undefined, 'guess', KEYS.ingest, KEYS.read]) {
        const fromCollector = await collector.inject({
          method: 'GET',
          url: '/metrics',
          headers: key ? { authorization: `Bearer ${key}` } : {},
        });
        expect(await status(url, key)).toBe(fromCollector.statusCode);
      }
    } finally {
      await collector.close();
    }
  });
});
