import { z } from 'zod';

/**
 * The Clawdstrike policy document (`clawdstrike::Policy`), written from the upstream reference
 * (backbay-labs/clawdstrike docs/src/reference/policy-schema.md, posture-schema.md, guards/*.md and the guard
 * configs they describe). Like upstream (`deny_unknown_fields`), every object refuses fields it does not
 * name. Modelled: the fields our suggestions write and those of the upstream default ruleset; guards and
 * top-level sections we never write (custom_guards, origins, broker, prompt_injection, ...) are not, so a
 * document carrying them is refused here even where upstream would read it.
 */

export const POLICY_VERSIONS = ['1.1.0', '1.2.0'] as const;
export const MERGE_STRATEGIES = ['replace', 'merge', 'deep_merge'] as const;
export const POSTURE_CAPABILITIES = [
  'file_access',
  'file_write',
  'egress',
  'shell',
  'mcp_tool',
  'patch',
  'custom',
] as const;
export const POSTURE_BUDGETS = [
  'file_writes',
  'egress_calls',
  'shell_commands',
  'mcp_tool_calls',
  'patches',
  'custom_calls',
] as const;
export const TRANSITION_TRIGGERS = [
  'user_approval',
  'user_denial',
  'critical_violation',
  'any_violation',
  'timeout',
  'budget_exhausted',
  'pattern_match',
] as const;
/** `after` of a timeout transition: `<n>s`, `<n>m` or `<n>h`. */
export const POSTURE_DURATION_PATTERN = /^\d+[smh]$/;

const patterns = z.array(z.string().min(1));

/** Rust `glob` patterns; `additional_*` / `remove_*` act when the policy extends another (deep_merge). */
export const ForbiddenPathSchema = z.strictObject({
  enabled: z.boolean().optional(),
  patterns: patterns.optional(),
  exceptions: patterns.optional(),
  additional_patterns: patterns.optional(),
  remove_patterns: patterns.optional(),
});

export const PathAllowlistSchema = z.strictObject({
  enabled: z.boolean().optional(),
  file_access_allow: patterns.optional(),
  file_write_allow: patterns.optional(),
  patch_allow: patterns.optional(),
});

/** `globset` host globs, matched case-insensitively; `block` wins over `allow`. */
export const EgressAllowlistSchema = z.strictObject({
  enabled: z.boolean().optional(),
  allow: patterns.optional(),
  block: patterns.optional(),
  default_action: z.enum(['allow', 'block', 'log']).optional(),
  additional_allow: patterns.optional(),
  remove_allow: patterns.optional(),
  additional_block: patterns.optional(),
  remove_block: patterns.optional(),
});

const GuardSeveritySchema = z.enum(['info', 'warning', 'error', 'critical']);

export const SecretPatternSchema = z.strictObject({
  name: z.string().min(1),
  pattern: z.string().min(1),
  severity: GuardSeveritySchema.optional(),
  description: z.string().optional(),
  luhn_check: z.boolean().optional(),
  masking: z.strictObject({ first: z.int().min(0).max(255), last: z.int().min(0).max(255) }).optional(),
});

export const SecretLeakSchema = z.strictObject({
  enabled: z.boolean().optional(),
  redact: z.boolean().optional(),
  severity_threshold: GuardSeveritySchema.optional(),
  patterns: z.array(SecretPatternSchema).optional(),
  additional_patterns: z.array(SecretPatternSchema).optional(),
  remove_patterns: z.array(z.string()).optional(),
  skip_paths: patterns.optional(),
});

export const PatchIntegritySchema = z.strictObject({
  enabled: z.boolean().optional(),
  max_additions: z.int().min(0).optional(),
  max_deletions: z.int().min(0).optional(),
  forbidden_patterns: patterns.optional(),
  require_balance: z.boolean().optional(),
  max_imbalance_ratio: z.number().min(0).optional(),
});

/** Tool names, matched exactly; `block` wins over `require_confirmation`, which wins over `allow`. */
export const McpToolSchema = z.strictObject({
  enabled: z.boolean().optional(),
  allow: patterns.optional(),
  block: patterns.optional(),
  require_confirmation: patterns.optional(),
  default_action: z.enum(['allow', 'block', 'deny']).optional(),
  max_args_size: z.int().min(0).optional(),
  additional_allow: patterns.optional(),
  remove_allow: patterns.optional(),
  additional_block: patterns.optional(),
  remove_block: patterns.optional(),
});

export const GuardsSchema = z.strictObject({
  forbidden_path: ForbiddenPathSchema.optional(),
  path_allowlist: PathAllowlistSchema.optional(),
  egress_allowlist: EgressAllowlistSchema.optional(),
  secret_leak: SecretLeakSchema.optional(),
  patch_integrity: PatchIntegritySchema.optional(),
  mcp_tool: McpToolSchema.optional(),
});

export const SettingsSchema = z.strictObject({
  fail_fast: z.boolean().optional(),
  verbose_logging: z.boolean().optional(),
  session_timeout_secs: z.int().min(0).optional(),
  verification: z
    .strictObject({
      enabled: z.boolean().optional(),
      strict: z.boolean().optional(),
      cache: z.boolean().optional(),
    })
    .optional(),
});

export const PostureStateSchema = z.strictObject({
  description: z.string().optional(),
  capabilities: z.array(z.enum(POSTURE_CAPABILITIES)).optional(),
  budgets: z.partialRecord(z.enum(POSTURE_BUDGETS), z.int().min(0)).optional(),
});

export const PostureTransitionSchema = z.strictObject({
  from: z.string().min(1),
  to: z.string().min(1),
  on: z.enum(TRANSITION_TRIGGERS),
  after: z.string().regex(POSTURE_DURATION_PATTERN, 'durations are <n>s, <n>m or <n>h').optional(),
  /** Reserved upstream. */
  requires: z.array(z.unknown()).optional(),
});

/** posture-schema.md "Validation rules": states and transitions must name states that exist. */
export const PostureSchema = z
  .strictObject({
    initial: z.string().min(1),
    states: z.record(z.string().min(1), PostureStateSchema),
    transitions: z.array(PostureTransitionSchema).optional(),
  })
  .superRefine((posture, context) => {
    const states = Object.keys(posture.states);
    if (states.length === 0) {
      context.addIssue({
        code: 'custom',
        path: ['states'],
        message: 'at least one posture state is required',
      });
    } else if (!Object.hasOwn(posture.states, posture.initial)) {
      context.addIssue({ code: 'custom', path: ['initial'], message: `"${posture.initial}" is not a state` });
    }
    (posture.transitions ?? []).forEach((transition, index) => {
      const at = (field: string) => ['transitions', index, field];
      if (transition.from !== '*' && !Object.hasOwn(posture.states, transition.from)) {
        context.addIssue({
          code: 'custom',
          path: at('from'),
          message: `"${transition.from}" is not a state`,
        });
      }
      if (transition.to === '*') {
        context.addIssue({ code: 'custom', path: at('to'), message: 'a transition cannot go to "*"' });
      } else if (!Object.hasOwn(posture.states, transition.to)) {
        context.addIssue({ code: 'custom', path: at('to'), message: `"${transition.to}" is not a state` });
      }
      if (transition.on === 'timeout' && transition.after === undefined) {
        context.addIssue({
          code: 'custom',
          path: at('after'),
          message: 'a timeout transition needs `after`',
        });
      }
    });
  });

export const ClawdstrikePolicySchema = z
  .strictObject({
    version: z.enum(POLICY_VERSIONS),
    name: z.string().optional(),
    description: z.string().optional(),
    /** A ruleset id (`clawdstrike:default`), a file path, or a pinned remote reference. */
    extends: z.string().min(1).optional(),
    merge_strategy: z.enum(MERGE_STRATEGIES).optional(),
    guards: GuardsSchema.optional(),
    settings: SettingsSchema.optional(),
    /** 1.2.0 and later. */
    posture: PostureSchema.optional(),
  })
  .superRefine((policy, context) => {
    // policy-schema.md "Version-gated fields".
    if (policy.version !== '1.1.0') return;
    if (policy.posture !== undefined) {
      context.addIssue({ code: 'custom', path: ['posture'], message: 'posture needs version 1.2.0' });
    }
    if (policy.guards?.path_allowlist !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['guards', 'path_allowlist'],
        message: 'guards.path_allowlist needs version 1.2.0',
      });
    }
  });

export type ClawdstrikePolicy = z.infer<typeof ClawdstrikePolicySchema>;
export type PolicyGuards = z.infer<typeof GuardsSchema>;
export type PolicyPosture = z.infer<typeof PostureSchema>;
export type TransitionTrigger = (typeof TRANSITION_TRIGGERS)[number];
