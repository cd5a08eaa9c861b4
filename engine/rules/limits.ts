import { z } from 'zod';
import type { FileLimits } from '../data-file.ts';

/**
 * Bounds on what loading rule files may cost. A file or rule past one is refused with the file, the rule id
 * where there is one, and which bound; on a hot reload the running rules stay (see processor/reloader.ts).
 */
export const RuleLimitsSchema = z
  .strictObject({
    maxFiles: z.int().positive().default(1_000).describe('rule files read from the configured paths'),
    maxFileBytes: z.int().positive().default(1_048_576).describe('size of one rule file, in bytes'),
    maxDepth: z
      .int()
      .positive()
      .default(64)
      .describe('nesting of arrays and objects in a rule file (a condition level takes two)'),
    maxValues: z
      .int()
      .positive()
      .default(100_000)
      .describe('values in one rule file, counting those reached through YAML aliases each time'),
    maxAliases: z.int().min(0).default(100).describe('YAML aliases (*name) in one rule file'),
    maxConditionDepth: z
      .int()
      .positive()
      .default(32)
      .describe('nesting of all/any/not in one rule condition, named conditions expanded where used'),
    maxConditionLeaves: z
      .int()
      .positive()
      .default(1_000)
      .describe('leaf tests in one rule condition, named conditions counted each time they are used'),
    maxRegexLength: z.int().positive().default(1_024).describe('characters in one regex pattern'),
    maxRegexProgramSize: z
      .int()
      .positive()
      .default(1_000)
      .describe(
        "RE2 instructions of one compiled regex or glob list (RE2's measure of a pattern's cost per input character)",
      ),
    maxDocuments: z.int().positive().default(100).describe('YAML documents (---) in one Sigma rule file'),
    maxSigmaConditionLength: z
      .int()
      .positive()
      .default(4_096)
      .describe('characters in one Sigma detection condition expression'),
  })
  .prefault({});
export type RuleLimits = z.infer<typeof RuleLimitsSchema>;

export const DEFAULT_RULE_LIMITS: Readonly<RuleLimits> = Object.freeze(RuleLimitsSchema.parse({}));

export function fileLimits(limits: RuleLimits): FileLimits {
  return {
    maxBytes: limits.maxFileBytes,
    maxDepth: limits.maxDepth,
    maxNodes: limits.maxValues,
    maxAliases: limits.maxAliases,
  };
}
