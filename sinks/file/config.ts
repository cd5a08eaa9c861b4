import { z } from 'zod';
import { deliverySchema, routingFields } from '../shared/config.ts';

export const FileSinkConfigSchema = z
  .object({
    type: z.literal('file'),
    ...routingFields(['event', 'alert']),
    directory: z.string().min(1).default('./data/sinks').describe('events.jsonl and alerts.jsonl go here'),
    maxBytes: z
      .int()
      .min(1)
      .default(100 * 1024 * 1024)
      .describe('a file is rotated before it would grow past this'),
    maxFiles: z.int().min(0).default(10).describe('rotated files kept per kind'),
    fsync: z.boolean().default(false).describe('fdatasync every batch before confirming it'),
    delivery: deliverySchema({ batchSize: 500, concurrency: 1, maxPendingItems: 10_000 }),
  })
  .describe('JSONL files, one per kind, rotated by size');

export type FileSinkConfig = z.infer<typeof FileSinkConfigSchema>;
