import type { ConditionProblem } from '../conditions/compile.ts';
import { type Accessor, type FactContext, resolveFact } from '../conditions/facts.ts';
import type { Suggestion } from '../rules/schema.ts';
import { overlayOf, PolicyOverlaySchema, type SuggestedChange } from './overlay.ts';
import { egressHost, forbiddenPathPattern, toolName } from './values.ts';

/** What a rule's `suggest` section compiles to: the changes one event suggests (none when its values are refused). */
export type SuggestChanges = (context: FactContext) => SuggestedChange[];

type Reader = (context: FactContext) => SuggestedChange | undefined;

/** A value each entry kind accepts, to check at load that the overlay it makes is a valid policy. */
const SAMPLES: Readonly<Record<Exclude<SuggestedChange['kind'], 'quarantine'>, string>> = {
  egress_block: 'host.example',
  mcp_block: 'tool_name',
  mcp_require_confirmation: 'tool_name',
  forbidden_pattern: '/path',
};

function entryReader(
  suggestion: Suggestion,
  read: Accessor | undefined,
): { reader: Reader; sample: SuggestedChange } {
  if (suggestion.guard === 'posture') {
    const change: SuggestedChange = { kind: 'quarantine', on: suggestion.on };
    return { reader: () => change, sample: change };
  }
  const [kind, normalize] =
    suggestion.guard === 'egress_allowlist'
      ? (['egress_block', egressHost] as const)
      : suggestion.guard === 'forbidden_path'
        ? (['forbidden_pattern', forbiddenPathPattern] as const)
        : suggestion.field === 'block'
          ? (['mcp_block', toolName] as const)
          : (['mcp_require_confirmation', toolName] as const);
  const reader: Reader = (context) => {
    const value = read ? normalize(read(context)) : undefined;
    return value === undefined ? undefined : { kind, value };
  };
  return { reader, sample: { kind, value: SAMPLES[kind] } };
}

/**
 * Compiles a rule's `suggest` entries. Refused at load, with the entry's path: a `from` that is no fact, and
 * an entry whose overlay would not be a valid Clawdstrike policy (so no alert ever carries an invalid one).
 */
export function compileSuggestions(
  suggestions: readonly Suggestion[] | undefined,
  problems: ConditionProblem[],
): SuggestChanges | undefined {
  if (!suggestions) return undefined;
  const readers: Reader[] = [];
  suggestions.forEach((suggestion, index) => {
    let read: Accessor | undefined;
    if (suggestion.guard !== 'posture') {
      const fact = resolveFact(suggestion.from);
      if (typeof fact === 'string') {
        problems.push({ path: ['suggest', index, 'from'], message: fact });
        return;
      }
      read = fact.accessor;
    }
    const { reader, sample } = entryReader(suggestion, read);
    const probe = PolicyOverlaySchema.safeParse(overlayOf([sample], undefined)?.overlay);
    if (!probe.success) {
      for (const issue of probe.error.issues) {
        const where = issue.path.map(String).join('.');
        problems.push({
          path: ['suggest', index],
          message: `the suggested overlay would not be a valid Clawdstrike policy: ${where}: ${issue.message}`,
        });
      }
      return;
    }
    readers.push(reader);
  });
  return (context) => {
    const changes: SuggestedChange[] = [];
    for (const read of readers) {
      const change = read(context);
      if (change) changes.push(change);
    }
    return changes;
  };
}
