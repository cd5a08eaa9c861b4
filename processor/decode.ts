import {
  type Envelope,
  EnvelopeSchema,
  fromZodIssues,
  parseRecord,
  type RecordError,
  type RecordLimits,
} from '../engine/index.ts';

export type Decoded = { ok: true; event: Envelope } | { ok: false; errors: RecordError[] };

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns one message value into an envelope. The collector publishes envelopes; a producer writing raw wire
 * records (PolicyEvent, hushd) straight to the topic is accepted too, normalized with the broker timestamp
 * as receivedAt. Anything else is a poison record for the dead-letter stream.
 */
export function decodeEvent(value: Uint8Array, brokerTimestamp: number, limits?: RecordLimits): Decoded {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(value));
  } catch (error) {
    return {
      ok: false,
      errors: [{ field: '(value)', message: `not UTF-8 JSON: ${(error as Error).message}` }],
    };
  }
  if (typeof json === 'object' && json !== null && 'schemaVersion' in json) {
    const envelope = EnvelopeSchema.safeParse(json);
    if (envelope.success) return { ok: true, event: envelope.data };
    return { ok: false, errors: fromZodIssues(envelope.error.issues) };
  }
  const parsed = parseRecord(json, { receivedAt: new Date(brokerTimestamp).toISOString(), limits });
  return parsed.ok ? { ok: true, event: parsed.value } : { ok: false, errors: parsed.error };
}
