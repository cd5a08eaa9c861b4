import type { ResponseAction } from '../../engine/alert.ts';

/**
 * The response actions a webhook target can be configured for. sinks/ may only import types from engine/,
 * so the list is restated here; the check below fails compilation if it drifts from the alert contract.
 */
export const WEBHOOK_ACTIONS = [
  'terminate_session',
  'quarantine_agent',
  'rate_limit',
  'increase_logging',
  'snapshot_session',
  'alert_soc',
  'update_policy',
] as const satisfies readonly ResponseAction[];

type Unlisted = Exclude<ResponseAction, (typeof WEBHOOK_ACTIONS)[number]>;
true satisfies [Unlisted] extends [never] ? true : never;
