import type { AgentProfile } from './intent.ts';
import { ROUTINE_SECRETS } from './vocabulary.ts';

/** One agent as the engine's asset inventory describes it (engine AssetRecordSchema). */
export interface InventoryRecord {
  agentId: string;
  owner: string;
  team: string;
  environment: string;
  criticality: 'low' | 'medium' | 'high';
  secretScopes: string[];
}

/**
 * The simulated fleet as an asset inventory: owners and teams for alert enrichment, and the secret scopes
 * agents use in their routine work, so that SECRET_ACCESS_OUT_OF_SCOPE fires on secret_scope_abuse only.
 */
export function fleetInventory(agents: readonly AgentProfile[]): { agents: InventoryRecord[] } {
  const scopes = [...new Set(ROUTINE_SECRETS.map((secret) => secret.scope))];
  return {
    agents: agents.map((agent) => ({
      agentId: agent.agentId,
      owner: agent.user,
      team: agent.team,
      environment: agent.environment,
      criticality: agent.environment === 'ci' ? 'high' : 'medium',
      secretScopes: scopes,
    })),
  };
}
