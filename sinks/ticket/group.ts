import { createHash } from 'node:crypto';
import type { Alert } from '../../engine/alert.ts';
import type { GroupField } from './config.ts';

/** The alert group a ticket stands for: the values of the configured `groupBy` fields, hashed. */
export interface TicketGroup {
  /** 16 hex digits of SHA-256 over the field names and values: stable across processes and restarts. */
  hash: string;
  /** Carried by the ticket (GitHub label, Jira label) so the group's ticket can be found again. */
  label: string;
}

export const GROUP_LABEL_PREFIX = 'edr-group-';

export function groupOf(alert: Alert, fields: readonly GroupField[]): TicketGroup {
  const hash = sha256(JSON.stringify(fields.map((field) => [field, alert[field]]))).slice(0, 16);
  return { hash, label: `${GROUP_LABEL_PREFIX}${hash}` };
}

/**
 * The line that opens every ticket body and comment we write, naming the alert it came from: how a
 * redelivered alert is recognized on the ticket itself. Ids that are not plain tokens are hashed, so the
 * marker never carries attacker text.
 */
export function alertMarker(alertId: string): string {
  const id = /^[A-Za-z0-9._:-]{1,128}$/.test(alertId) ? alertId : `sha256-${sha256(alertId).slice(0, 32)}`;
  return `clawdstrike-edr alert ${id}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
