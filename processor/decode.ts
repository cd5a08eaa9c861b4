import {
  DEFAULT_RECORD_LIMITS,
  type Envelope,
  parseEnvelope,
  parseRecord,
  type RecordError,
  type RecordLimits,
} from '../engine/index.ts';

export type Decoded = { ok: true; event: Envelope } | { ok: false; errors: RecordError[] };

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns one message value into an envelope, under the record limits the collector applied (the same
 * `limits.record`), so what the collector accepted decodes here. The collector publishes envelopes; a producer
 * writing raw wire records (PolicyEvent, hushd) straight to the topic is accepted too, normalized with the
 * broker timestamp as receivedAt. Event times are judged against the broker timestamp either way (see
 * parseEnvelope). Anything else is a poison record for the dead-letter stream.
 */
export function decodeEvent(
  value: Uint8Array,
  brokerTimestamp: number,
  limits: RecordLimits = DEFAULT_RECORD_LIMITS,
): Decoded {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(value));
  } catch (error) {
    return {
      ok: false,
      errors: [{ field: '(value)', message: `not UTF-8 JSON: ${(error as Error).message}` }],
    };
  }
  // Kafka writes -1 for a record without a timestamp: then there is no broker time to judge by.
  const context = brokerTimestamp > 0 ? { receivedAt: brokerTimestamp, limits } : { limits };
  const isEnvelope = typeof json === 'object' && json !== null && Object.hasOwn(json, 'schemaVersion');
  const parsed = isEnvelope ? parseEnvelope(json, context) : parseRecord(json, context);
  return parsed.ok ? { ok: true, event: parsed.value } : { ok: false, errors: parsed.error };
}
