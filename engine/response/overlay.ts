import { z } from 'zod';
import { SUGGESTION_LIMITS } from './limits.ts';
import { ClawdstrikePolicySchema, TRANSITION_TRIGGERS, type TransitionTrigger } from './policy-schema.ts';

/**
 * A policy suggestion: a Clawdstrike policy overlay that `extends` the agent's policy with `deep_merge` and
 * holds only the guard fields that change. Upstream's deep merge replaces a base list with a child's
 * non-empty one, and adds a child's `additional_*` entries to it; so suggestions write the additive fields,
 * and applying one never drops an entry of the agent's policy:
 * - `egress_allowlist.additional_block`, `mcp_tool.additional_block`, `forbidden_path.additional_patterns`;
 * - `mcp_tool.require_confirmation`, which has no additive field upstream: applied, it replaces the base's
 *   list (docs/sinks.md says so to reviewers);
 * - `posture`: a `quarantine` state without capabilities that new sessions start in, and the transition into
 *   it from any state. Upstream merges states by name and replaces the base's transitions with these.
 * The version is always 1.2.0: deep merge takes the child's version, and 1.1.0 would refuse a base's posture.
 */

export const OVERLAY_VERSION = '1.2.0';
export const QUARANTINE_STATE = 'quarantine';

/** One change an alert suggests, from the event that completed it. */
export const SuggestedChangeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('egress_block'), value: z.string() }),
  z.strictObject({ kind: z.literal('mcp_block'), value: z.string() }),
  z.strictObject({ kind: z.literal('mcp_require_confirmation'), value: z.string() }),
  z.strictObject({ kind: z.literal('forbidden_pattern'), value: z.string() }),
  z.strictObject({ kind: z.literal('quarantine'), on: z.enum(TRANSITION_TRIGGERS) }),
]);
export type SuggestedChange = z.infer<typeof SuggestedChangeSchema>;

const list = (maxChars: number) =>
  z.array(z.string().min(1).max(maxChars)).min(1).max(SUGGESTION_LIMITS.maxEntriesPerList);

/**
 * The overlays this pipeline writes: a bounded subset of the policy schema (and refined by it, so each is a
 * valid Clawdstrike policy). The suggestions sink reads its files back with it.
 */
export const PolicyOverlaySchema = z
  .strictObject({
    version: z.literal(OVERLAY_VERSION),
    extends: z.string().min(1).max(SUGGESTION_LIMITS.maxPolicyRefChars).optional(),
    merge_strategy: z.literal('deep_merge'),
    guards: z
      .strictObject({
        egress_allowlist: z
          .strictObject({ additional_block: list(SUGGESTION_LIMITS.maxHostChars) })
          .optional(),
        forbidden_path: z
          .strictObject({ additional_patterns: list(SUGGESTION_LIMITS.maxPatternChars) })
          .optional(),
        mcp_tool: z
          .strictObject({
            additional_block: list(SUGGESTION_LIMITS.maxToolChars).optional(),
            require_confirmation: list(SUGGESTION_LIMITS.maxToolChars).optional(),
          })
          .optional(),
      })
      .optional(),
    posture: z
      .strictObject({
        initial: z.literal(QUARANTINE_STATE),
        states: z.strictObject({
          [QUARANTINE_STATE]: z.strictObject({
            capabilities: z.array(z.never()).max(0),
            budgets: z.strictObject({}),
          }),
        }),
        transitions: z
          .array(
            z.strictObject({
              from: z.literal('*'),
              to: z.literal(QUARANTINE_STATE),
              on: z.enum(TRANSITION_TRIGGERS),
            }),
          )
          .min(1)
          .max(TRANSITION_TRIGGERS.length),
      })
      .optional(),
  })
  .superRefine((overlay, context) => {
    const upstream = ClawdstrikePolicySchema.safeParse(overlay);
    if (upstream.success) return;
    for (const issue of upstream.error.issues) {
      context.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    }
  });
export type PolicyOverlay = z.infer<typeof PolicyOverlaySchema>;

/** Entries of one overlay's lists, gathered before they are sorted, deduplicated and cut. */
interface Entries {
  egressBlock: Set<string>;
  forbiddenPatterns: Set<string>;
  mcpBlock: Set<string>;
  mcpConfirm: Set<string>;
  quarantineOn: Set<TransitionTrigger>;
}

const emptyEntries = (): Entries => ({
  egressBlock: new Set(),
  forbiddenPatterns: new Set(),
  mcpBlock: new Set(),
  mcpConfirm: new Set(),
  quarantineOn: new Set(),
});

function addChange(entries: Entries, change: SuggestedChange): void {
  switch (change.kind) {
    case 'egress_block':
      entries.egressBlock.add(change.value);
      return;
    case 'mcp_block':
      entries.mcpBlock.add(change.value);
      return;
    case 'mcp_require_confirmation':
      entries.mcpConfirm.add(change.value);
      return;
    case 'forbidden_pattern':
      entries.forbiddenPatterns.add(change.value);
      return;
    case 'quarantine':
      entries.quarantineOn.add(change.on);
      return;
  }
}

function addOverlay(entries: Entries, overlay: PolicyOverlay): void {
  const guards = overlay.guards;
  for (const value of guards?.egress_allowlist?.additional_block ?? []) entries.egressBlock.add(value);
  for (const value of guards?.forbidden_path?.additional_patterns ?? []) entries.forbiddenPatterns.add(value);
  for (const value of guards?.mcp_tool?.additional_block ?? []) entries.mcpBlock.add(value);
  for (const value of guards?.mcp_tool?.require_confirmation ?? []) entries.mcpConfirm.add(value);
  for (const transition of overlay.posture?.transitions ?? []) entries.quarantineOn.add(transition.on);
}

/** What an overlay left out to stay within SUGGESTION_LIMITS.maxEntriesPerList. */
export interface Built {
  overlay: PolicyOverlay;
  /** Entries cut, over all lists (each list keeps its first entries in sorted order). */
  dropped: number;
}

/** Code-unit order: the same on every machine and locale, so the bytes are too. */
const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortedBounded(values: Set<string>, counter: { dropped: number }): string[] {
  const sorted = [...values].sort(byCodeUnit);
  const max = SUGGESTION_LIMITS.maxEntriesPerList;
  if (sorted.length > max) counter.dropped += sorted.length - max;
  return sorted.slice(0, max);
}

/** Key order here is the order of the YAML and JSON text, so equal suggestions are equal byte for byte. */
function buildOverlay(entries: Entries, reference: string | undefined): Built {
  const counter = { dropped: 0 };
  const overlay: PolicyOverlay =
    reference === undefined
      ? { version: OVERLAY_VERSION, merge_strategy: 'deep_merge' }
      : { version: OVERLAY_VERSION, extends: reference, merge_strategy: 'deep_merge' };
  const guards: NonNullable<PolicyOverlay['guards']> = {};
  const egress = sortedBounded(entries.egressBlock, counter);
  if (egress.length > 0) guards.egress_allowlist = { additional_block: egress };
  const patterns = sortedBounded(entries.forbiddenPatterns, counter);
  if (patterns.length > 0) guards.forbidden_path = { additional_patterns: patterns };
  const mcpBlock = sortedBounded(entries.mcpBlock, counter);
  const mcpConfirm = sortedBounded(entries.mcpConfirm, counter);
  if (mcpBlock.length > 0 || mcpConfirm.length > 0) {
    guards.mcp_tool = {};
    if (mcpBlock.length > 0) guards.mcp_tool.additional_block = mcpBlock;
    if (mcpConfirm.length > 0) guards.mcp_tool.require_confirmation = mcpConfirm;
  }
  if (Object.keys(guards).length > 0) overlay.guards = guards;
  if (entries.quarantineOn.size > 0) {
    overlay.posture = {
      initial: QUARANTINE_STATE,
      states: { [QUARANTINE_STATE]: { capabilities: [], budgets: {} } },
      transitions: TRANSITION_TRIGGERS.filter((on) => entries.quarantineOn.has(on)).map((on) => ({
        from: '*' as const,
        to: QUARANTINE_STATE,
        on,
      })),
    };
  }
  return { overlay, dropped: counter.dropped };
}

/** The overlay of one alert's changes, or undefined when it suggests nothing. */
export function overlayOf(
  changes: readonly SuggestedChange[],
  reference: string | undefined,
): Built | undefined {
  if (changes.length === 0) return undefined;
  const entries = emptyEntries();
  for (const change of changes) addChange(entries, change);
  return buildOverlay(entries, reference);
}

/**
 * Merges overlays into one per `extends` (an agent whose policy changed within the window gets one overlay
 * per policy), ordered by it (none first). The result does not depend on the order of `overlays`.
 */
export function mergeOverlays(overlays: readonly PolicyOverlay[]): Built[] {
  const byReference = new Map<string, Entries>();
  for (const overlay of overlays) {
    const key = overlay.extends ?? '';
    const entries = byReference.get(key) ?? emptyEntries();
    byReference.set(key, entries);
    addOverlay(entries, overlay);
  }
  return [...byReference.keys()]
    .sort(byCodeUnit)
    .map((key) => buildOverlay(byReference.get(key)!, key === '' ? undefined : key));
}
