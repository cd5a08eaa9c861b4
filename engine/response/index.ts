/**
 * Policy suggestions: what an alert suggests changing in the agent's Clawdstrike policy, as an overlay in the
 * policy's own format (overlay.ts), validated against the upstream schema (policy-schema.ts), bounded
 * (limits.ts) and rendered as YAML (yaml.ts). Pure, like the rest of engine/.
 */
export type { AgentSuggestion } from './by-agent.ts';
export { commentLine, renderSuggestionsByAgent, suggestionsByAgent } from './by-agent.ts';
export { SUGGESTION_LIMITS } from './limits.ts';
export type { Built, PolicyOverlay, SuggestedChange } from './overlay.ts';
export {
  mergeOverlays,
  OVERLAY_VERSION,
  overlayOf,
  PolicyOverlaySchema,
  QUARANTINE_STATE,
  SuggestedChangeSchema,
} from './overlay.ts';
export type { ClawdstrikePolicy, PolicyGuards, PolicyPosture, TransitionTrigger } from './policy-schema.ts';
export { ClawdstrikePolicySchema, TRANSITION_TRIGGERS } from './policy-schema.ts';
export {
  egressHost,
  escapeGlob,
  forbiddenPathPattern,
  normalizePath,
  policyReference,
  toolName,
} from './values.ts';
export { parseOverlaysYaml, renderOverlaysYaml, renderOverlayYaml } from './yaml.ts';
