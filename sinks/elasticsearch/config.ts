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
    indexDays: z
      .object({
        past: z.int().min(0).max(3650).default(30).describe('days of event time before the receive day'),
        future: z.int().min(0).max(365).default(1).describe('days of event time after the receive day'),
      })
      .prefault({})
      .describe(
        'an item whose event day lies outside [receive day - past, receive day + future] goes to the index of ' +
          'its receive day (events: receivedAt, alerts: detectedAt), so event dates cannot create indices at will',
      ),
    documents: z
      .object({
        maxDepth: z
          .int()
          .min(1)
          .max(20)
          .default(20)
          .describe(
            'levels of objects and arrays kept in clawdstrike.data, metadata and enrichment (Elasticsearch ' +
              'refuses flattened values deeper than 20); a deeper subtree is stored as its JSON text',
          ),
        maxKeyBytes: z
          .int()
          .min(1)
          .max(512)
          .default(256)
          .describe(
            'longest key kept in those fields; an object with a longer key is stored as its JSON text',
          ),
      })
      .prefault({})
      .describe(
        'bounds that make every document fit the index; changed paths go to clawdstrike.adjusted_fields',
      ),
    maxBulkBytes: z
      .int()
      .min(64 * 1024)
      .default(10 * 1024 * 1024)
      .describe(
        'a batch goes out as several _bulk requests of at most this size (a larger single document alone); ' +
          'keep it under the cluster http.max_content_length (100 MB by default)',
      ),
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
