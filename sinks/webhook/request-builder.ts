import type { Alert, ResponseAction } from '../../engine/alert.ts';
import type { HttpRequest } from '../shared/http.ts';
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './signature.ts';

/** The body is a pure function of the alert and action, so every retry sends the same bytes. */
export function webhookBody(alert: Alert, action: ResponseAction): string {
  return JSON.stringify({
    alertId: alert.alertId,
    action,
    ruleId: alert.ruleId,
    severity: alert.severity,
    agentId: alert.agentId,
    sessionId: alert.sessionId,
    timestamp: alert.timestamp,
    alert,
  });
}

export interface SignedRequestInput {
  url: string;
  method: string;
  headers: Readonly<Record<string, string>>;
  secret: string;
  alert: Alert;
  action: ResponseAction;
  /** Unix seconds at sending time: each attempt is signed afresh so receivers' age check passes. */
  timestamp: number;
  timeoutMs?: number;
}

export function signedWebhookRequest(input: SignedRequestInput): HttpRequest {
  const body = webhookBody(input.alert, input.action);
  const request: HttpRequest = {
    url: input.url,
    method: input.method,
    headers: {
      ...lowerCaseKeys(input.headers),
      'content-type': 'application/json',
      'user-agent': 'clawdstrike-edr',
      [TIMESTAMP_HEADER]: String(input.timestamp),
      [SIGNATURE_HEADER]: signWebhook(input.secret, input.timestamp, body),
      // Stable across retries and restarts: receivers deduplicate on it.
      'idempotency-key': `${input.alert.alertId}:${input.action}`,
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
