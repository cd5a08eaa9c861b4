import type { Envelope } from '../../engine/model/index.ts';
import { type OutboundRecord, RECORD_HEADERS, type StreamName } from '../../transport/index.ts';

/**
 * Where an event goes: every event to `events`; a deny or warn also to `violations`; a hushd AuditEvent also
 * to `audit`. All copies share one serialized value, the key `agentId:sessionId` and the eventId.
 */
export function recordsFor(envelope: Envelope): OutboundRecord[] {
  const streams: StreamName[] = ['events'];
  if (envelope.decision.outcome !== 'allow') streams.push('violations');
  if (envelope.source.format === 'hushd_audit') streams.push('audit');
  const value = Buffer.from(JSON.stringify(envelope));
  const headers = {
    [RECORD_HEADERS.sourceFormat]: envelope.source.format,
    [RECORD_HEADERS.schemaVersion]: String(envelope.schemaVersion),
    [RECORD_HEADERS.eventId]: envelope.eventId,
  };
  const key = `${envelope.agentId}:${envelope.sessionId}`;
  return streams.map((stream) => ({
    stream,
    key,
    token: envelope.agentId,
    id: envelope.eventId,
    value,
    headers,
  }));
}
