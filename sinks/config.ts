import { z } from 'zod';
import { ElasticsearchSinkConfigSchema } from './elasticsearch/config.ts';
import { FileSinkConfigSchema } from './file/config.ts';
import { SplunkHecSinkConfigSchema } from './splunk-hec/config.ts';
import { SqliteSinkConfigSchema } from './sqlite/config.ts';
import { StdoutSinkConfigSchema } from './stdout/config.ts';
import { SuggestionsSinkConfigSchema } from './suggestions/config.ts';
import { TicketSinkConfigSchema } from './ticket/config.ts';
import { WebhookSinkConfigSchema } from './webhook/config.ts';

export const SinkConfigSchema = z.discriminatedUnion('type', [
  ElasticsearchSinkConfigSchema,
  SplunkHecSinkConfigSchema,
  WebhookSinkConfigSchema,
  FileSinkConfigSchema,
  StdoutSinkConfigSchema,
  SqliteSinkConfigSchema,
  TicketSinkConfigSchema,
  SuggestionsSinkConfigSchema,
]);
export type SinkConfig = z.infer<typeof SinkConfigSchema>;

export const DeadLetterConfigSchema = z
  .object({
    path: z.string().min(1).default('./data/dead-letters.jsonl'),
    maxBytes: z
      .int()
      .min(1)
      .default(100 * 1024 * 1024),
    maxFiles: z.int().min(0).default(10),
    fsync: z.boolean().default(true).describe('a dead letter is the last copy: sync it before confirming'),
  })
  .prefault({})
  .describe('JSONL file for items that failed permanently or ran out of retries');

/** The router's config: every sink, and where undeliverable items go. Documented in docs/sinks.md. */
export const SinksConfigSchema = z.object({
  deadLetter: DeadLetterConfigSchema,
  sinks: z
    .array(SinkConfigSchema)
    .prefault([{ type: 'file' }])
    .describe('every configured sink receives, in parallel, the items its routing keys select'),
});
export type SinksConfig = z.infer<typeof SinksConfigSchema>;
export type SinksConfigInput = z.input<typeof SinksConfigSchema>;
