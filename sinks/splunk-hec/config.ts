import { hostname } from 'node:os';
import { z } from 'zod';
import { deliverySchema, routingFields, TlsSchema } from '../shared/config.ts';

export const SplunkHecSinkConfigSchema = z
  .object({
    type: z.literal('splunk_hec'),
    ...routingFields(['event', 'alert']),
    url: z.url().describe('HEC base URL, e.g. https://splunk.example:8088'),
    token: z.string().min(1).describe('HEC token (sent as "Authorization: Splunk <token>")'),
    index: z.string().min(1).optional().describe("target index (default: the token's default index)"),
    alertIndex: z.string().min(1).optional().describe('index for alerts when it differs from `index`'),
    host: z.string().min(1).default(hostname()).describe('HEC `host` field'),
    source: z.string().min(1).default('clawdstrike-edr').describe('HEC `source` field'),
    gzip: z.boolean().default(true).describe('gzip request bodies'),
    ack: z
      .object({
        enabled: z.boolean().default(false).describe('wait for indexer acknowledgement before confirming'),
        channel: z
          .uuid()
          .optional()
          .describe('X-Splunk-Request-Channel (default: a random UUID per process)'),
        pollIntervalMs: z.int().min(1).default(500),
        timeoutMs: z.int().min(1).default(60_000).describe('unacknowledged after this: the batch is resent'),
      })
      .prefault({}),
    tls: TlsSchema,
    requestTimeoutMs: z.int().min(1).default(30_000),
    delivery: deliverySchema({ batchSize: 200, concurrency: 2, maxPendingItems: 10_000 }),
  })
  .describe('Splunk HTTP Event Collector (/services/collector/event)');

export type SplunkHecSinkConfig = z.infer<typeof SplunkHecSinkConfigSchema>;
