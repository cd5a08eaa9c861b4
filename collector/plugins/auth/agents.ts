/** Whether a principal may send records for an agent id. */
export type AgentBinding = (agentId: string) => boolean;

/**
 * Agent-id patterns of a key or source: `*` matches any run of characters (none included), `?` exactly one,
 * every other character itself. Ids are not paths, so `/` and `.` are ordinary characters.
 *
 * Matched greedily, segment by segment: the text before the first `*` must start the id, the text after the
 * last must end it, and each segment between is taken at its leftmost place after the previous one. For
 * `*`-only wildcards the leftmost place is always a safe choice, so there is no backtracking: the cost is at
 * most (id length × pattern length) per pattern, unlike a backtracking regex built from the same glob.
 */
export function agentBinding(patterns: readonly string[] | undefined): AgentBinding | undefined {
  if (!patterns) return undefined;
  const compiled = patterns.map(compile);
  return (agentId) => compiled.some((pattern) => pattern(agentId));
}

function compile(pattern: string): AgentBinding {
  const segments = pattern.split('*');
  if (segments.length === 1) return (id) => id.length === pattern.length && matchesAt(id, 0, pattern);
  const first = segments[0]!;
  const last = segments.at(-1)!;
  const middle = segments.slice(1, -1).filter((segment) => segment !== '');
  const fixed = first.length + last.length;
  return (id) => {
    if (id.length < fixed || !matchesAt(id, 0, first) || !matchesAt(id, id.length - last.length, last)) {
      return false;
    }
    let from = first.length;
    const end = id.length - last.length;
    for (const segment of middle) {
      const at = leftmost(id, segment, from, end);
      if (at < 0) return false;
      from = at + segment.length;
    }
    return true;
  };
}

/** `segment` (where `?` is any one character) equals id[at, at + segment.length). */
function matchesAt(id: string, at: number, segment: string): boolean {
  for (let i = 0; i < segment.length; i++) {
    const expected = segment.charCodeAt(i);
    if (expected !== QUESTION_MARK && expected !== id.charCodeAt(at + i)) return false;
  }
  return true;
}

function leftmost(id: string, segment: string, from: number, end: number): number {
  for (let at = from; at + segment.length <= end; at++) if (matchesAt(id, at, segment)) return at;
  return -1;
}

const QUESTION_MARK = '?'.charCodeAt(0);
