import { z } from 'zod';
import { deliverySchema, routingFields } from '../shared/config.ts';

export const StdoutSinkConfigSchema = z
  .object({
    type: z.literal('stdout'),
    ...routingFields(['alert']),
    delivery: deliverySchema({ batchSize: 100, concurrency: 1, maxPendingItems: 10_000 }),
  })
  .describe('one JSON line per item on stdout: {"kind": "event"|"alert", "event"|"alert": {...}}');

export type StdoutSinkConfig = z.infer<typeof StdoutSinkConfigSchema>;
