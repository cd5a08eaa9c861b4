import type { ClawdstrikePolicy, PolicyGuards } from '../../engine/index.ts';

/**
 * What upstream Clawdstrike would decide, for the tests of policy suggestions only: the deep merge of
 * `extends` and the egress, forbidden-path, MCP-tool and posture checks, written from the upstream reference
 * (backbay-labs/clawdstrike docs/src/reference/ and the guard configs' merge_with). Paths are compared as
 * given (upstream also resolves symlinks); only the guards a suggestion writes are modelled.
 */

type Egress = NonNullable<PolicyGuards['egress_allowlist']>;
type ForbiddenPath = NonNullable<PolicyGuards['forbidden_path']>;
type McpTool = NonNullable<PolicyGuards['mcp_tool']>;

/** Adds the child's `additional` entries (once each), removes its `remove` ones; a non-empty child list replaces. */
function mergeList(
  base: readonly string[] | undefined,
  child: readonly string[] | undefined,
  additional: readonly string[] | undefined,
  remove: readonly string[] | undefined,
): string[] {
  const out = [...(base ?? [])];
  for (const entry of additional ?? []) if (!out.includes(entry)) out.push(entry);
  const kept = out.filter((entry) => !(remove ?? []).includes(entry));
  return child && child.length > 0 ? [...child] : kept;
}

function mergeEgress(base: Egress, child: Egress): Egress {
  return {
    enabled: child.enabled ?? true,
    allow: mergeList(base.allow, child.allow, child.additional_allow, child.remove_allow),
    block: mergeList(base.block, child.block, child.additional_block, child.remove_block),
    default_action: child.default_action ?? base.default_action,
  };
}

function mergeForbiddenPath(base: ForbiddenPath, child: ForbiddenPath): ForbiddenPath {
  // A child's `patterns` replace the base's; its additions and removals apply either way.
  const start = child.patterns ?? base.patterns ?? [];
  return {
    enabled: child.enabled ?? true,
    patterns: mergeList(start, undefined, child.additional_patterns, child.remove_patterns),
    exceptions: [...new Set([...(base.exceptions ?? []), ...(child.exceptions ?? [])])],
  };
}

function mergeMcpTool(base: McpTool, child: McpTool): McpTool {
  return {
    enabled: child.enabled ?? true,
    allow: mergeList(base.allow, child.allow, child.additional_allow, child.remove_allow),
    block: mergeList(base.block, child.block, child.additional_block, child.remove_block),
    require_confirmation:
      child.require_confirmation && child.require_confirmation.length > 0
        ? [...child.require_confirmation]
        : [...(base.require_confirmation ?? [])],
    default_action: child.default_action ?? base.default_action,
    max_args_size: child.max_args_size ?? base.max_args_size,
  };
}

/** `child` (merge_strategy deep_merge) over the policy it extends, as upstream's Policy::merge. */
export function deepMerge(base: ClawdstrikePolicy, child: ClawdstrikePolicy): ClawdstrikePolicy {
  const guards: PolicyGuards = { ...base.guards };
  const theirs = child.guards ?? {};
  if (theirs.egress_allowlist)
    guards.egress_allowlist = mergeEgress(base.guards?.egress_allowlist ?? {}, theirs.egress_allowlist);
  if (theirs.forbidden_path) {
    guards.forbidden_path = mergeForbiddenPath(base.guards?.forbidden_path ?? {}, theirs.forbidden_path);
  }
  if (theirs.mcp_tool) guards.mcp_tool = mergeMcpTool(base.guards?.mcp_tool ?? {}, theirs.mcp_tool);
  const merged: ClawdstrikePolicy = { ...base, version: child.version, guards };
  delete merged.extends;
  delete merged.merge_strategy;
  if (child.posture) {
    merged.posture = base.posture
      ? {
          initial: child.posture.initial.trim() === '' ? base.posture.initial : child.posture.initial,
          states: { ...base.posture.states, ...child.posture.states },
          transitions:
            child.posture.transitions && child.posture.transitions.length > 0
              ? child.posture.transitions
              : base.posture.transitions,
        }
      : child.posture;
  }
  return merged;
}

/**
 * A glob as a regex. Rust `glob` (forbidden paths) with its default options: `*` crosses `/`, `**∕` is any
 * number of folders, `[...]` / `[!...]` classes where a leading `]` is literal. `globset` (egress hosts)
 * also has `{a,b}`, and matches case-insensitively.
 */
function globRegex(glob: string, options: { braces: boolean; caseInsensitive: boolean }): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*') {
      if (glob[i + 1] === '*' && (i === 0 || glob[i - 1] === '/') && glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        while (glob[i + 1] === '*') i++;
        out += '.*';
      }
    } else if (char === '?') {
      out += '.';
    } else if (char === '[') {
      let j = i + 1;
      const negate = glob[j] === '!';
      if (negate) j++;
      let body = '';
      // A `]` right after the opening (or `[!`) is a member, not the end.
      for (let first = true; j < glob.length && (first || glob[j] !== ']'); j++, first = false) {
        body += glob[j]!.replace(/[\\\][^]/g, '\\$&');
      }
      if (j >= glob.length) throw new Error(`unclosed class in ${glob}`);
      out += `[${negate ? '^' : ''}${body}]`;
      i = j;
    } else if (options.braces && char === '{') {
      const end = glob.indexOf('}', i);
      out += `(?:${glob
        .slice(i + 1, end)
        .split(',')
        .map((part) => part.replace(/[.+^$()|\\]/g, '\\$&'))
        .join('|')})`;
      i = end;
    } else {
      out += char.replace(/[.+^$(){}|\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`, options.caseInsensitive ? 'is' : 's');
}

export function globMatches(glob: string, text: string, kind: 'path' | 'host'): boolean {
  return globRegex(glob, { braces: kind === 'host', caseInsensitive: kind === 'host' }).test(text);
}

export type Decision = 'allow' | 'deny';

/** egress_allowlist: a block pattern wins, then an allow pattern, then the default action (block). */
export function egressDecision(policy: ClawdstrikePolicy, host: string): Decision {
  const egress = policy.guards?.egress_allowlist;
  if (!egress || egress.enabled === false) return 'allow';
  if ((egress.block ?? []).some((glob) => globMatches(glob, host, 'host'))) return 'deny';
  if ((egress.allow ?? []).some((glob) => globMatches(glob, host, 'host'))) return 'allow';
  return (egress.default_action ?? 'block') === 'block' ? 'deny' : 'allow';
}

/** forbidden_path: an exception allows, then any pattern forbids. */
export function forbiddenPathDecision(policy: ClawdstrikePolicy, path: string): Decision {
  const guard = policy.guards?.forbidden_path;
  if (!guard || guard.enabled === false) return 'allow';
  if ((guard.exceptions ?? []).some((glob) => globMatches(glob, path, 'path'))) return 'allow';
  return (guard.patterns ?? []).some((glob) => globMatches(glob, path, 'path')) ? 'deny' : 'allow';
}

/** mcp_tool, by exact name: block, then require_confirmation (denied until approved), then allow-mode, then the default. */
export function mcpToolDecision(policy: ClawdstrikePolicy, tool: string): Decision | 'confirm' {
  const guard = policy.guards?.mcp_tool;
  if (!guard || guard.enabled === false) return 'allow';
  if ((guard.block ?? []).includes(tool)) return 'deny';
  if ((guard.require_confirmation ?? []).includes(tool)) return 'confirm';
  if ((guard.allow ?? []).length > 0) return (guard.allow ?? []).includes(tool) ? 'allow' : 'deny';
  return (guard.default_action ?? 'block') === 'allow' ? 'allow' : 'deny';
}

/** The posture's capability precheck for a new session: its initial state must grant the capability. */
export function postureDecision(policy: ClawdstrikePolicy, capability: string): Decision {
  const posture = policy.posture;
  if (!posture) return 'allow';
  const state = posture.states[posture.initial];
  return (state?.capabilities ?? []).some((granted) => granted === capability) ? 'allow' : 'deny';
}
