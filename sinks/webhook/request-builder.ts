import type { Alert, ResponseAction } from '../../engine/alert.ts';
import { renderOverlayYaml } from '../../engine/response/yaml.ts';
import type { HttpRequest } from '../shared/http.ts';
import { ID_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './signature.ts';

/**
 * The body is a pure function of the alert and action, so every retry sends the same bytes. An
 * `update_policy` body also says what to change: the alert's policy suggestion (a Clawdstrike overlay) as an
 * object and as the YAML a reviewer applies, both null when the rule or the event's values gave none.
 */
export function webhookBody(alert: Alert, action: ResponseAction): string {
  const overlay = alert.response?.policySuggestion;
  const suggestion =
    action === 'update_policy'
      ? {
          policySuggestion: overlay ?? null,
          policySuggestionYaml: overlay ? renderOverlayYaml(overlay) : null,
        }
      : {};
  return JSON.stringify({
    alertId: alert.alertId,
    action,
    ruleId: alert.ruleId,
    severity: alert.severity,
    agentId: alert.agentId,
    sessionId: alert.sessionId,
    timestamp: alert.timestamp,
    ...suggestion,
    alert,
  });
}

export interface SignedRequestInput {
  url: string;
  method: string;
  headers: Readonly<Record<string, string>>;
  /** One key, or several during a rotation (one signature each). */
  secret: string | readonly string[];
  alert: Alert;
  action: ResponseAction;
  /** Unix seconds at sending time: each attempt is signed afresh so receivers' age check passes. */
  timestamp: number;
  timeoutMs?: number;
}

/** Stable across retries and restarts (receivers deduplicate on it); alert ids are hex, so it holds no `.`. */
export function webhookId(alert: Alert, action: ResponseAction): string {
  return `${alert.alertId}:${action}`;
}

export function signedWebhookRequest(input: SignedRequestInput): HttpRequest {
  const body = webhookBody(input.alert, input.action);
  const id = webhookId(input.alert, input.action);
  const request: HttpRequest = {
    url: input.url,
    method: input.method,
    headers: {
      ...lowerCaseKeys(input.headers),
      'content-type': 'application/json',
      'user-agent': 'clawdstrike-edr',
      [ID_HEADER]: id,
      [TIMESTAMP_HEADER]: String(input.timestamp),
      [SIGNATURE_HEADER]: signWebhook(input.secret, id, input.timestamp, body),
      'idempotency-key': id,
    },
    body,
  };
  if (input.timeoutMs !== undefined) request.timeoutMs = input.timeoutMs;
  return request;
}

/** Configured headers cannot shadow the signature headers through a different letter case. */
function lowerCaseKeys(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
}
