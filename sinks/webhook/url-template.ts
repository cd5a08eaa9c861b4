import type { Alert, ResponseAction } from '../../engine/alert.ts';

/** Alert fields a URL template may use; their values are URL-encoded when substituted. */
export const ALERT_URL_FIELDS = [
  'alertId',
  'ruleId',
  'agentId',
  'sessionId',
  'severity',
  'action',
  'groupKey',
] as const;

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!);
}

/**
 * Fills `{name}` placeholders: config vars go in verbatim (they hold base URLs such as
 * `{agentControlApi}`), alert fields are percent-encoded so an id can never change the path.
 * Unknown names are rejected when the config is parsed, so every placeholder resolves here.
 */
export function renderUrl(
  template: string,
  vars: Readonly<Record<string, string>>,
  alert: Alert,
  action: ResponseAction,
): string {
  const fields: Record<(typeof ALERT_URL_FIELDS)[number], string> = {
    alertId: alert.alertId,
    ruleId: alert.ruleId,
    agentId: alert.agentId,
    sessionId: alert.sessionId,
    severity: alert.severity,
    action,
    groupKey: alert.groupKey,
  };
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    if (name in fields) return encodeURIComponent(fields[name as keyof typeof fields]);
    return vars[name] ?? whole;
  });
}
