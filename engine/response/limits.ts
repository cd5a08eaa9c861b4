/**
 * Bounds of policy suggestions. Every value in a suggestion comes from telemetry, so an attacker chooses it;
 * each bound is in docs/security.md with what happens at it.
 */
export const SUGGESTION_LIMITS = {
  /** Entries per list of one overlay (a merged overlay keeps the first this many, sorted). */
  maxEntriesPerList: 100,
  /** An egress host (a DNS name is at most 253 characters). */
  maxHostChars: 253,
  /** An MCP tool name. */
  maxToolChars: 256,
  /** A file path, after normalization and before its glob metacharacters are escaped. */
  maxPathChars: 1024,
  /** A forbidden_path pattern: the escaped path (each metacharacter becomes three characters) and `**∕`. */
  maxPatternChars: 3 * 1024 + 3,
  /** The `extends` reference: a policy name from the inventory, or the events' policy hash. */
  maxPolicyRefChars: 256,
  /** `suggest` entries of one rule. */
  maxSuggestionsPerRule: 8,
} as const;
