import type { Integrity } from './envelope.ts';
import type { RecordLimits } from './limits.ts';
import { eventTimeMillis, formatTimestamp, timestampMillis } from './timestamp.ts';

/**
 * The time policy (docs/security.md, "Time"). The sender writes the event time, so it is believed only within
 * [limits.minTimestamp, receivedAt + limits.maxFutureSkewMs]. Outside it the event is kept, not refused (a
 * tampering agent's events are evidence, and the tampering is a detectable fact itself): its timestamp becomes
 * receivedAt, and integrity.clock and integrity.claimedTimestamp say what was sent. So no record can carry
 * a time far ahead of its arrival into the engine's clocks. A text that names no real instant (2026-02-30,
 * 25:00, "abc") is refused.
 */
export type JudgedTime =
  | { ok: true; timestamp: string; receivedAt: string; integrity?: Integrity }
  | { ok: false; message: string };

/** Characters of a claimed time kept in integrity.claimedTimestamp (a valid one is at most 64). */
const CLAIM_CHARS = 64;

let floorText = '';
let floorMillis = 0;

/** limits.minTimestamp in epoch milliseconds (the config schema made it an ISO date-time). */
function floorOf(limits: RecordLimits): number {
  if (limits.minTimestamp !== floorText) {
    floorText = limits.minTimestamp;
    const millis = timestampMillis(floorText);
    floorMillis = Number.isNaN(millis) ? 0 : millis;
  }
  return floorMillis;
}

export interface Arrival {
  text: string;
  millis: number;
}

/**
 * A receivedAt the pipeline can stand on: a real instant with a four-digit year, in canonical form. One
 * request's records, or one replay, share their receivedAt, so the last value is judged once.
 */
class LastArrival {
  #input: unknown = Number.NaN;
  #arrival: Arrival | undefined;

  of(value: unknown): Arrival | undefined {
    if (value === this.#input) return this.#arrival;
    const millis = eventTimeMillis(value);
    const text = formatTimestamp(millis);
    this.#input = value;
    this.#arrival = text === undefined ? undefined : { text, millis };
    return this.#arrival;
  }
}

const readers = new LastArrival();
const claims = new LastArrival();

/** When the reader got the record: the collector's clock, or the broker's timestamp. */
export const arrivalOf = (value: unknown): Arrival | undefined => readers.of(value);

/** An envelope's own receivedAt, judged apart from the reader's time, with which it alternates record by record. */
export const envelopeArrivalOf = (value: unknown): Arrival | undefined => claims.of(value);

/** toISOString's own layout, which a time read without error and laid out so already is (no copy needed). */
function isCanonical(text: string): boolean {
  return (
    text.length === 24 &&
    text.charCodeAt(10) === 84 &&
    text.charCodeAt(19) === 46 &&
    text.charCodeAt(23) === 90
  );
}

/**
 * Judges the event time `claimed` (as sent) against the arrival time. Without an arrival there is nothing to
 * judge a far time by: then only a time within [floor, 9999-12-31] is believed, and any other is refused.
 */
export function judgeEventTime(
  claimed: unknown,
  arrival: Arrival | undefined,
  limits: RecordLimits,
): JudgedTime {
  const millis = eventTimeMillis(claimed);
  if (Number.isNaN(millis)) {
    const shown =
      typeof claimed === 'string' ? JSON.stringify(claimed.slice(0, CLAIM_CHARS)) : typeof claimed;
    return {
      ok: false,
      message: `${shown} is not a time: expected an RFC 3339 date-time naming a real calendar date, or epoch seconds or milliseconds`,
    };
  }
  const floor = floorOf(limits);
  const ceiling = arrival ? arrival.millis + limits.maxFutureSkewMs : Number.POSITIVE_INFINITY;
  if (millis >= floor && millis <= ceiling) {
    const text = typeof claimed === 'string' && isCanonical(claimed) ? claimed : formatTimestamp(millis);
    if (text !== undefined) return { ok: true, timestamp: text, receivedAt: arrival?.text ?? text };
  }
  if (!arrival) {
    return {
      ok: false,
      message: `lies outside ${limits.minTimestamp} to 9999-12-31, and there is no receivedAt to stand in for it`,
    };
  }
  const claim = typeof claimed === 'string' ? claimed.slice(0, CLAIM_CHARS) : String(claimed);
  return {
    ok: true,
    timestamp: arrival.text,
    receivedAt: arrival.text,
    integrity: { clock: millis < floor ? 'before_floor' : 'future', claimedTimestamp: claim },
  };
}
