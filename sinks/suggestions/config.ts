import { z } from 'zod';
import { deliverySchema, routingFields } from '../shared/config.ts';

export const SuggestionsSinkConfigSchema = z
  .object({
    type: z.literal('suggestions'),
    ...routingFields(['alert']),
    directory: z
      .string()
      .min(1)
      .default('./data/suggestions')
      .describe("<day>/<agent>.yaml files go here: each agent's policy suggestions of that UTC day, merged"),
    retainDays: z
      .int()
      .min(1)
      .default(30)
      .describe('day folders older than this many days (by the clock) are deleted'),
    fsync: z.boolean().default(false).describe('fdatasync each file before it replaces the previous one'),
    delivery: deliverySchema({ batchSize: 200, concurrency: 1, maxPendingItems: 10_000 }),
  })
  .describe(
    'Clawdstrike policy overlays as YAML files, one per agent and day (alerts with a suggestion only)',
  );

export type SuggestionsSinkConfig = z.infer<typeof SuggestionsSinkConfigSchema>;
