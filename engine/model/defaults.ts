import type { Severity } from '../../core/severity.ts';
import type { Outcome } from './envelope.ts';

/**
 * Defaults for what senders leave out. Written down once here; README's "Event model" section repeats them.
 * - agentId: hushd records fall back to `hushd` (what hushd itself does), everything else to `unknown`.
 * - sessionId: `no-session`, so session-less events still group per agent without mixing agents.
 * - no decision attached: the event was observed, not judged: outcome `allow`, severity `info`.
 * - a decision without severity: deny → medium, warn → low, allow → info.
 */
export const DEFAULT_AGENT_ID = 'unknown';
export const HUSHD_AGENT_ID = 'hushd';
export const DEFAULT_SESSION_ID = 'no-session';

export const DEFAULT_SEVERITY_BY_OUTCOME: Record<Outcome, Severity> = {
  allow: 'info',
  warn: 'low',
  deny: 'medium',
};
