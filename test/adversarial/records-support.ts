import { publishedEvent } from '../../collector/ingest/routing.ts';
import {
  type Alert,
  createEngine,
  DEFAULT_RECORD_LIMITS,
  type DetectionEngine,
  type EngineLimits,
  type Envelope,
  type ParseResult,
  parseRecord,
  type RecordLimits,
  type RuleSet,
} from '../../engine/index.ts';
import { decodeEvent } from '../../processor/decode.ts';

export const T0 = Date.parse('2026-03-02T10:00:00.000Z');

function fileEvent(operation: 'read' | 'write') {
  return (id: string, agentId: string, timestamp: unknown, path: string): Record<string, unknown> => ({
    eventId: id,
    eventType: `file_${operation}`,
    timestamp,
    sessionId: 'sess-1',
    agentId,
    data: { type: 'file', path, operation },
  });
}

/** A PolicyEvent file read of `agentId` in `sess-1`, dated `timestamp` (kept as given, for hostile values). */
export const fileRead = fileEvent('read');
/** A PolicyEvent file write of `agentId` in `sess-1`, dated `timestamp`. */
export const fileWrite = fileEvent('write');

export const iso = (millis: number) => new Date(millis).toISOString();

/**
 * What the collector, the broker and the processor do to a record: parseRecord at arrival, the envelope's
 * bytes as published, decodeEvent with the broker's timestamp (the same moment). Throws when a step refuses:
 * callers give records the pipeline accepts.
 */
export function throughPipeline(
  raw: unknown,
  arrival: number,
  limits: RecordLimits = DEFAULT_RECORD_LIMITS,
): Envelope {
  const parsed = parseRecord(raw, { receivedAt: iso(arrival), limits });
  if (!parsed.ok) throw new Error(`collector refused: ${JSON.stringify(parsed.error)}`);
  const decoded = decodeEvent(publishedEvent(parsed.value).value, arrival, limits);
  if (!decoded.ok) throw new Error(`processor refused: ${JSON.stringify(decoded.errors)}`);
  return decoded.event;
}

/** The published bytes of an accepted record decoded again, or why a side refused. */
export function roundTrip(
  parsed: ParseResult,
  brokerTime: number,
  limits: RecordLimits = DEFAULT_RECORD_LIMITS,
): { ok: true; event: Envelope } | { ok: false; side: 'collector' | 'processor'; errors: unknown } {
  if (!parsed.ok) return { ok: false, side: 'collector', errors: parsed.error };
  const decoded = decodeEvent(publishedEvent(parsed.value).value, brokerTime, limits);
  return decoded.ok ? decoded : { ok: false, side: 'processor', errors: decoded.errors };
}

/** A processor-like engine: its clock is the wall clock of the moment each record arrives. */
export function liveEngine(
  rules: RuleSet,
  limits?: Partial<EngineLimits>,
): { engine: DetectionEngine; feed(records: Array<{ raw: unknown; arrival: number }>): Alert[] } {
  let now = T0;
  const engine = createEngine({ rules, clock: () => now, limits });
  return {
    engine,
    feed: (records) =>
      records.flatMap(({ raw, arrival }) => {
        now = arrival;
        return engine.process(throughPipeline(raw, arrival));
      }),
  };
}
