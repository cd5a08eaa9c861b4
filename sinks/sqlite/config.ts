import { z } from 'zod';
import { deliverySchema, routingFields } from '../shared/config.ts';

export const SqliteSinkConfigSchema = z
  .object({
    type: z.literal('sqlite'),
    ...routingFields(['event', 'alert']),
    path: z
      .string()
      .min(1)
      .default('./data/console.db')
      .describe('the database file (WAL mode); the console store reads the same file'),
    synchronous: z
      .enum(['normal', 'full'])
      .default('normal')
      .describe(
        'normal: a confirmed batch survives a crash of the process, not of the machine (WAL); full: it is ' +
          'synced to disk before it is confirmed',
      ),
    busyTimeoutMs: z
      .int()
      .min(0)
      .max(60_000)
      .default(5_000)
      .describe('how long a write waits for another connection (the console) holding the write lock'),
    delivery: deliverySchema({ batchSize: 500, concurrency: 1, maxPendingItems: 10_000 }),
  })
  .describe('SQLite: events and alerts in one embedded database, deduplicated by id; the console reads it');

export type SqliteSinkConfig = z.infer<typeof SqliteSinkConfigSchema>;
