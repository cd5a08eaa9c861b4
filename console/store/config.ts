import { z } from 'zod';
import { ElasticsearchSinkConfigSchema } from '../../sinks/index.ts';

const pollIntervalMs = z
  .int()
  .min(100)
  .max(60_000)
  .default(1_000)
  .describe('how often the live feed looks for new alerts');

const esShape = ElasticsearchSinkConfigSchema.shape;

/** Where the console reads: the SQLite sink's database, or the indices of the Elasticsearch sink. */
export const ConsoleStoreConfigSchema = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('sqlite'),
      path: z
        .string()
        .min(1)
        .default('./data/console.db')
        .describe('the database the sqlite sink writes (the same `path`)'),
      pollIntervalMs,
    }),
    z.strictObject({
      type: z.literal('elasticsearch'),
      node: esShape.node,
      indexPrefix: esShape.indexPrefix.describe(
        'the Elasticsearch sink indexPrefix: alerts and events are read from its indices; workflow, history ' +
          'and manual actions go to <prefix>-console-workflow, -history and -actions',
      ),
      auth: esShape.auth,
      tls: esShape.tls,
      requestTimeoutMs: esShape.requestTimeoutMs,
      replicas: z.int().min(0).default(1).describe('replicas of the console indices'),
      maxScanAlerts: z
        .int()
        .min(100)
        .max(50_000)
        .default(5_000)
        .describe(
          'alerts one queue request scans when it filters open or unassigned alerts (workflow state lives in ' +
            'its own index); past it the page ends short, with a cursor to continue',
        ),
      pollIntervalMs,
    }),
  ])
  .describe('the console store');
export type ConsoleStoreConfig = z.infer<typeof ConsoleStoreConfigSchema>;
export type ConsoleStoreConfigInput = z.input<typeof ConsoleStoreConfigSchema>;
