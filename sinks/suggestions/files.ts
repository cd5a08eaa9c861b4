import { createHash } from 'node:crypto';

/**
 * File names for agent ids, which telemetry chooses: letters, digits, `.`, `_` and `-` of the id (others
 * become `_`, no leading dot, at most 48), then 16 hex digits of its sha256. No id can name a path outside
 * the day folder, and ids that read alike (`a/b` and `a_b`, or differing in case on a case-insensitive
 * disk) still get files of their own.
 */
export function agentFileName(agentId: string): string {
  const readable =
    agentId
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^\./, '_')
      .slice(0, 48) || '_';
  const digest = createHash('sha256').update(agentId).digest('hex').slice(0, 16);
  return `${readable}-${digest}.yaml`;
}

export const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** The UTC day of an alert's event time (canonical ISO text, so read off the string). */
export function dayOf(timestamp: string): string {
  return timestamp.slice(0, 10);
}

/** Day folders older than `retainDays` before the day of `now`, among `names`. */
export function expiredDays(names: readonly string[], now: number, retainDays: number): string[] {
  const oldest = new Date(now - retainDays * 86_400_000).toISOString().slice(0, 10);
  return names.filter((name) => DAY_PATTERN.test(name) && name < oldest);
}
