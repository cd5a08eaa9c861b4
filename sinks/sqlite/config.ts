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
    retention: z
      .object({
        eventsDays: z
          .int()
          .min(0)
          .max(36_500)
          .default(30)
          .describe(
            'events stored more than this many days ago are deleted (age is time in the database, not the ' +
              "sender's event time), except those an alert still stored lists; a session goes once none of " +
              'its events is left; 0: kept forever',
          ),
        alertsDays: z
          .int()
          .min(0)
          .max(36_500)
          .default(90)
          .describe(
            'alerts stored more than this many days ago are deleted with their workflow history, response ' +
              'actions, webhook outcomes, search text and event links, and rule counts older than it; 0: kept forever',
          ),
        intervalMs: z
          .int()
          .min(1_000)
          .max(86_400_000)
          .default(60_000)
          .describe(
            'how often the purge runs (and once at start); a row is aged from the first purge after it was stored',
          ),
        chunkRows: z
          .int()
          .min(100)
          .max(50_000)
          .default(500)
          .describe(
            'rows looked at per purge transaction; the purge yields to the event loop between transactions, so ' +
              'writes and console reads go on while it catches up',
          ),
      })
      .prefault({})
      .describe('age-based retention; nothing else bounds the database file'),
    delivery: deliverySchema({ batchSize: 500, concurrency: 1, maxPendingItems: 10_000 }),
  })
  .describe('SQLite: events and alerts in one embedded database, deduplicated by id; the console reads it');

export type SqliteSinkConfig = z.infer<typeof SqliteSinkConfigSchema>;
