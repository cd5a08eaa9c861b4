import type { Alert } from '../alert.ts';
import { SUGGESTION_LIMITS } from './limits.ts';
import { type Built, mergeOverlays, type PolicyOverlay } from './overlay.ts';
import { renderOverlayYaml } from './yaml.ts';

/** One agent's suggestions, merged: one overlay per policy it extends. */
export interface AgentSuggestion {
  agentId: string;
  overlays: Built[];
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The suggestions of `alerts`, merged per agent (agents in code-unit order); alerts without one are skipped. */
export function suggestionsByAgent(alerts: Iterable<Pick<Alert, 'agentId' | 'response'>>): AgentSuggestion[] {
  const byAgent = new Map<string, PolicyOverlay[]>();
  for (const alert of alerts) {
    const overlay = alert.response?.policySuggestion;
    if (!overlay) continue;
    const list = byAgent.get(alert.agentId) ?? [];
    list.push(overlay);
    byAgent.set(alert.agentId, list);
  }
  return [...byAgent.keys()]
    .sort(byCodeUnit)
    .map((agentId) => ({ agentId, overlays: mergeOverlays(byAgent.get(agentId)!) }));
}

/**
 * A YAML comment line naming a value from telemetry: JSON-quoted, with the separators JSON leaves as they are
 * escaped too, so no agent id can end the comment and start a key.
 */
export function commentLine(label: string, value: string): string {
  const quoted = JSON.stringify(value)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return `# ${label} ${quoted}\n`;
}

/**
 * Every agent's merged overlays as one YAML stream: a comment naming the agent (and how many entries the
 * limits cut, if any) above each document, `---` between documents. What `suggest-policy` prints and rule
 * fixture cases expect, byte for byte.
 */
export function renderSuggestionsByAgent(suggestions: readonly AgentSuggestion[]): string {
  const documents: string[] = [];
  for (const { agentId, overlays } of suggestions) {
    for (const { overlay, dropped } of overlays) {
      const max = SUGGESTION_LIMITS.maxEntriesPerList;
      const cut =
        dropped > 0 ? `# ${dropped} entries left out (each list keeps its first ${max}, sorted)\n` : '';
      documents.push(`${commentLine('agent', agentId)}${cut}${renderOverlayYaml(overlay)}`);
    }
  }
  return documents.join('---\n');
}
