import { z } from 'zod';

/**
 * Response actions a rule can ask for: part of the alert contract (engine/) and what response webhook
 * targets are configured for (sinks/), so it lives here where both can import it.
 */
export const RESPONSE_ACTIONS = [
  'terminate_session',
  'quarantine_agent',
  'rate_limit',
  'increase_logging',
  'snapshot_session',
  'alert_soc',
  'update_policy',
] as const;
export const ResponseActionSchema = z.enum(RESPONSE_ACTIONS);
export type ResponseAction = z.infer<typeof ResponseActionSchema>;
