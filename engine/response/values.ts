import { SUGGESTION_LIMITS } from './limits.ts';

/**
 * Turns attacker-supplied event values into policy entries, or refuses them (undefined): a value that is not
 * what the guard matches on never becomes a pattern that means something else.
 */

// C0, DEL and C1 controls, and the line and paragraph separators: nothing a host, tool or path carries.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const LABEL = '[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?';
/** A DNS name or IPv4 address, lowercase: no glob metacharacter (globset reads `*?[]{}`) can pass. */
const HOST_PATTERN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
/** An IPv6 address as hosts are written without brackets. */
const IPV6_PATTERN = /^[0-9a-f:.]{2,45}$/;

/**
 * An egress host as egress_allowlist matches it (case-insensitively): lowercased, a trailing dot dropped.
 * Refused: anything but a DNS name or IP address (a `*` would block every host: a denial of service).
 */
export function egressHost(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > SUGGESTION_LIMITS.maxHostChars + 1) return undefined;
  const host = value.toLowerCase().replace(/\.$/, '');
  if (host.length === 0 || host.length > SUGGESTION_LIMITS.maxHostChars) return undefined;
  if (HOST_PATTERN.test(host)) return host;
  return host.includes(':') && IPV6_PATTERN.test(host) ? host : undefined;
}

/** Characters upstream documents as tool-name wildcards, or that no tool name needs. */
const TOOL_REFUSED = /[*?[\]{}\s]/;

/** An MCP tool name, matched exactly upstream; refused when empty, too long, or carrying wildcard characters. */
export function toolName(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > SUGGESTION_LIMITS.maxToolChars) {
    return undefined;
  }
  return CONTROL.test(value) || TOOL_REFUSED.test(value) ? undefined : value;
}

/** Rust `glob` metacharacters; each is escaped as a one-character class (`*` → `[*]`), as Pattern::escape does. */
const GLOB_META = /[*?[\]]/g;

export function escapeGlob(text: string): string {
  return text.replace(GLOB_META, (meta) => `[${meta}]`);
}

/**
 * The path as upstream's lexical normalization sees it: `\` as `/`, empty and `.` segments dropped, `..`
 * resolved. Undefined when a relative path climbs above its start (its target is unknown).
 */
export function normalizePath(path: string): string | undefined {
  const text = path.replaceAll('\\', '/');
  const absolute = text.startsWith('/');
  const segments: string[] = [];
  for (const segment of text.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment !== '..') segments.push(segment);
    else if (segments.length > 0) segments.pop();
    else if (!absolute) return undefined;
  }
  return `${absolute ? '/' : ''}${segments.join('/')}`;
}

/**
 * A forbidden_path pattern that matches exactly this path: metacharacters escaped, so `/tmp/*` forbids the
 * file named `*`, not the folder. A relative path (or one under `~/`) matches wherever it lies (`**∕` prefix).
 * Refused: the root alone, paths with control characters, paths longer than the limit.
 */
export function forbiddenPathPattern(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > SUGGESTION_LIMITS.maxPathChars) {
    return undefined;
  }
  if (CONTROL.test(value)) return undefined;
  const home = value.startsWith('~/') || value.startsWith('~\\');
  const path = normalizePath(home ? value.slice(2) : value);
  if (path === undefined || path === '' || path === '/') return undefined;
  const escaped = escapeGlob(path);
  return path.startsWith('/') ? escaped : `**/${escaped}`;
}

/** A policy name (from the inventory): printable ASCII without spaces, as ruleset ids and paths are. */
const POLICY_NAME = /^[\x21-\x7e]+$/;
/** A policy hash as the pipeline normalizes it (bare lowercase hex). */
const POLICY_HASH = /^[0-9a-f]{8,128}$/;

/** What an overlay `extends`: the agent's policy by name when the inventory names it, else the events' hash. */
export function policyReference(name: unknown, hash: unknown): string | undefined {
  if (
    typeof name === 'string' &&
    name.length <= SUGGESTION_LIMITS.maxPolicyRefChars &&
    POLICY_NAME.test(name)
  ) {
    return name;
  }
  return typeof hash === 'string' && POLICY_HASH.test(hash) ? hash : undefined;
}
