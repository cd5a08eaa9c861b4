import { z } from 'zod';

export const BULK_ACTIONS = ['index', 'create', 'update', 'delete'] as const;
export type BulkActionName = (typeof BULK_ACTIONS)[number];

const ActionMetadataSchema = z.looseObject({
  _index: z.string().optional(),
  _id: z.string().optional(),
});

/** A `_bulk` action line: exactly one of index / create / update / delete. */
export const BulkActionSchema = z
  .partialRecord(z.enum(BULK_ACTIONS), ActionMetadataSchema)
  .refine((action) => Object.keys(action).length === 1, 'expected exactly one action');

/** Elasticsearch's error body, what its clients parse on a failure. */
export const ElasticErrorSchema = z.object({
  error: z.object({ type: z.string(), reason: z.string() }),
  status: z.int(),
});
