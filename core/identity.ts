import { createHash } from 'node:crypto';

/**
 * One event's identity: agents choose their own eventIds, so two agents may use the same one. A digest of
 * the length-prefixed (agentId, eventId) pair: no choice of ids makes two pairs collide, and the result is
 * 43 characters whatever the ids' length (Elasticsearch `_id`, JetStream `Nats-Msg-Id`).
 */
export function eventIdentity(agentId: string, eventId: string): string {
  return createHash('sha256').update(`${agentId.length}:${agentId}${eventId}`).digest('base64url');
}
