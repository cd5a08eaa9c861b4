import { z } from 'zod';
import { deliverySchema, routingFields, TlsSchema } from '../shared/config.ts';

const ApiKeyAuthSchema = z.object({
  apiKey: z.string().min(1).describe('base64 "id:api_key" as Elasticsearch returns it as `encoded`'),
});
const BasicAuthSchema = z.object({ username: z.string().min(1), password: z.string().min(1) });

export const ElasticsearchSinkConfigSchema = z
  .object({
    type: z.literal('elasticsearch'),
    ...routingFields(['event', 'alert']),
    node: z
      .union([z.url(), z.array(z.url()).min(1)])
      .describe('Elasticsearch URL, or several for one cluster'),
    indexPrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, "-" and "_"')
      .default('clawdstrike')
      .describe('indices are <prefix>-events-YYYY.MM.DD and <prefix>-alerts-YYYY.MM.DD (UTC event time)'),
    auth: z.union([ApiKeyAuthSchema, BasicAuthSchema]).optional().describe('API key or basic auth'),
    tls: TlsSchema,
    requestTimeoutMs: z.int().min(1).default(30_000),
    compression: z.boolean().default(false).describe('gzip bulk request bodies'),
    installTemplates: z.boolean().default(true).describe('put the index templates when the sink starts'),
    templates: z
      .object({
        shards: z.int().min(1).default(1),
        replicas: z.int().min(0).default(1),
      })
      .prefault({}),
    refresh: z
      .union([z.boolean(), z.literal('wait_for')])
      .default(false)
      .describe('bulk refresh parameter; leave false in production'),
    delivery: deliverySchema({ batchSize: 500, concurrency: 2, maxPendingItems: 10_000 }),
  })
  .describe('Elasticsearch: ECS documents in daily indices, deduplicated by event/alert id');

export type ElasticsearchSinkConfig = z.infer<typeof ElasticsearchSinkConfigSchema>;
