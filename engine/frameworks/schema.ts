import { z } from 'zod';

const TechniqueSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().min(1),
  tactics: z.array(z.string().min(1)).min(1),
  subtechniqueOf: z.string().min(1).optional(),
});

/**
 * One framework's committed subset (frameworks/<name>.json): where it came from, its tactics and
 * techniques, and the ids it retired. `revokedBy` names the id that replaced a revoked one; a deprecated
 * id may name a `replacement` when the source suggests one.
 */
export const FrameworkSchema = z.strictObject({
  framework: z.enum(['atlas', 'attack']),
  matrix: z.string().min(1),
  name: z.string().min(1),
  version: z.string().min(1),
  date: z.iso.date(),
  source: z.record(z.string(), z.string()),
  note: z.string(),
  tactics: z.array(z.strictObject({ id: z.string().min(1), name: z.string().min(1) })).min(1),
  revoked: z.array(z.strictObject({ id: z.string(), name: z.string(), revokedBy: z.string() })),
  deprecated: z.array(
    z.strictObject({ id: z.string(), name: z.string(), replacement: z.string().optional() }),
  ),
  techniques: z.array(TechniqueSchema).min(1),
});
export type Framework = z.infer<typeof FrameworkSchema>;
export type Technique = z.infer<typeof TechniqueSchema>;
export type FrameworkName = Framework['framework'];
