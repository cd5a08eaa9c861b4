import { createHash } from 'node:crypto';
import type { Envelope } from '../../engine/model/index.ts';
import { type OutboundRecord, RECORD_HEADERS, type StreamName } from '../../transport/index.ts';

/** What one event becomes on the broker, before it is copied to its streams. */
export interface PublishedEvent {
  key: string;
  value: Buffer;
  headers: Readonly<Record<string, string>>;
  /** Deduplication id of the broker (JetStream): the same (agentId, eventId) pair, never eventId alone. */
  id: string;
}

export function publishedEvent(
  envelope: Envelope,
  value = Buffer.from(JSON.stringify(envelope)),
): PublishedEvent {
  return {
    // By agent, not session: an agent's baselines and agent-grouped counts need all its events in one engine.
    key: envelope.agentId,
    value,
    headers: {
      [RECORD_HEADERS.sourceFormat]: envelope.source.format,
      [RECORD_HEADERS.schemaVersion]: String(envelope.schemaVersion),
      [RECORD_HEADERS.eventId]: envelope.eventId,
    },
    id: eventIdentity(envelope.agentId, envelope.eventId),
  };
}

/**
 * One event's identity: agents choose their own eventIds, so two agents may use the same one. A digest
 * of the length-prefixed pair, so no choice of ids makes two pairs collide and the id stays short.
 */
export function eventIdentity(agentId: string, eventId: string): string {
  return createHash('sha256').update(`${agentId.length}:${agentId}${eventId}`).digest('base64url');
}

/**
 * Where an event goes: every event to `events`; a deny or warn also to `violations`; a hushd AuditEvent also
 * to `audit`. All copies share one serialized value, the key (the agentId) and the identity.
 */
export function recordsFor(envelope: Envelope, event = publishedEvent(envelope)): OutboundRecord[] {
  const streams: StreamName[] = ['events'];
  if (envelope.decision.outcome !== 'allow') streams.push('violations');
  if (envelope.source.format === 'hushd_audit') streams.push('audit');
  return streams.map((stream) => ({
    stream,
    key: event.key,
    token: envelope.agentId,
    id: event.id,
    value: event.value,
    headers: event.headers,
  }));
}
