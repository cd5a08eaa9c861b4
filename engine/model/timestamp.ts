/** Epoch values below this are seconds, above it milliseconds (10^11 s is the year 5138). */
const EPOCH_SECONDS_LIMIT = 1e11;
/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the instants with a four-digit year, as RFC 3339,
 * the envelope schema and Elasticsearch write them. */
export const MIN_TIMESTAMP_MS = -62_167_219_200_000;
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;
/** Longer texts are no timestamp: RFC 3339 with nanoseconds and an offset is 35 characters. */
const MAX_TEXT_LENGTH = 64;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The decimal number in text[start, start + count), or NaN when a character is not a digit. */
function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (!(digit >= 0 && digit <= 9)) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (month 1-12), for any year (Date.UTC maps 0-99 to 19xx). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

const DASH = 45;
const COLON = 58;
const DOT = 46;
const COMMA = 44;
const PLUS = 43;
const SPACE = 32;
const T = 84;
const LOWER_T = 116;
const Z = 90;
const LOWER_Z = 122;

/**
 * Epoch milliseconds of the hour `YYYY-MM-DDTHH` at the start of `text`, NaN when it names no real hour:
 * 2026-02-30 and 24:00 are refused (Date.parse rolls the first over into March and reads the second).
 */
function hourMillis(text: string): number {
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const valid = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour <= 23;
  return valid ? daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 : Number.NaN;
}

/**
 * `YYYY-MM-DDTHH:` of the hour canonicalMillis read last, and that hour's epoch milliseconds. Timestamps of a
 * stream share their hour, so most texts only have their prefix compared and minutes to millis read.
 */
let hourPrefix = '1970-01-01T00:';
let hourStart = 0;

/**
 * Epoch milliseconds of `YYYY-MM-DDTHH:MM:SS.sssZ` naming a real instant (the form toISOString writes and
 * every envelope carries), NaN for any other text.
 */
function canonicalMillis(text: string): number {
  if (
    text.length !== 24 ||
    text.charCodeAt(4) !== DASH ||
    text.charCodeAt(7) !== DASH ||
    text.charCodeAt(10) !== T ||
    text.charCodeAt(13) !== COLON ||
    text.charCodeAt(16) !== COLON ||
    text.charCodeAt(19) !== DOT ||
    text.charCodeAt(23) !== Z
  ) {
    return Number.NaN;
  }
  let start = hourStart;
  if (!text.startsWith(hourPrefix)) {
    start = hourMillis(text);
    if (Number.isNaN(start)) return Number.NaN;
    hourPrefix = text.slice(0, 14);
    hourStart = start;
  }
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const millis = digits(text, 20, 3);
  if (!(minute <= 59 && second <= 59 && millis >= 0)) return Number.NaN;
  return start + minute * 60_000 + second * 1000 + millis;
}

/** Offset of `±HH:MM` or `±HHMM` at text[at..] in milliseconds east of UTC; NaN when malformed. */
function offsetMillis(text: string, at: number): number {
  const sign = text.charCodeAt(at) === PLUS ? 1 : -1;
  const hours = digits(text, at + 1, 2);
  const colon = text.charCodeAt(at + 3) === COLON ? 1 : 0;
  if (text.length !== at + 5 + colon) return Number.NaN;
  const minutes = digits(text, at + 3 + colon, 2);
  if (!(hours <= 23 && minutes <= 59)) return Number.NaN;
  return sign * (hours * 3_600_000 + minutes * 60_000);
}

/**
 * Epoch milliseconds of an RFC 3339 date-time, read strictly: `YYYY-MM-DD`, `T`, `t` or a space, `HH:MM`,
 * optional `:SS` and fraction (`.` or `,`, any digits, read to the millisecond), then `Z`, an offset or nothing
 * (naive times are UTC). Every field must be in range for its calendar date, so 2026-02-30 is NaN.
 */
function rfc3339Millis(text: string): number {
  if (text.length < 16 || text.length > MAX_TEXT_LENGTH) return Number.NaN;
  const separator = text.charCodeAt(10);
  if (
    text.charCodeAt(4) !== DASH ||
    text.charCodeAt(7) !== DASH ||
    !(separator === T || separator === LOWER_T || separator === SPACE) ||
    text.charCodeAt(13) !== COLON
  ) {
    return Number.NaN;
  }
  const day = hourMillis(text);
  const minute = digits(text, 14, 2);
  if (Number.isNaN(day) || !(minute <= 59)) return Number.NaN;
  let at = 16;
  let second = 0;
  let millis = 0;
  if (text.charCodeAt(at) === COLON) {
    second = digits(text, at + 1, 2);
    if (!(second <= 59)) return Number.NaN;
    at += 3;
    const mark = text.charCodeAt(at);
    if (mark === DOT || mark === COMMA) {
      const from = ++at;
      while (at < text.length && text.charCodeAt(at) >= 48 && text.charCodeAt(at) <= 57) at++;
      if (at === from) return Number.NaN;
      millis = digits(`${text.slice(from, Math.min(at, from + 3))}00`, 0, 3);
    }
  }
  let offset = 0;
  if (at < text.length) {
    const mark = text.charCodeAt(at);
    if (mark === Z || mark === LOWER_Z) {
      if (at + 1 !== text.length) return Number.NaN;
    } else if (mark === PLUS || mark === DASH) {
      offset = offsetMillis(text, at);
      if (Number.isNaN(offset)) return Number.NaN;
    } else return Number.NaN;
  }
  return day + minute * 60_000 + second * 1000 + millis - offset;
}

/** The last text timestampMillis read, and what it read: callers often ask twice for the same event. */
let lastText = '';
let lastMillis = Number.NaN;

/** Epoch milliseconds of an RFC 3339 date-time (see eventTimeMillis), the envelope's own form read directly. */
export function timestampMillis(text: string): number {
  if (text === lastText) return lastMillis;
  const millis = canonicalMillis(text);
  lastText = text;
  lastMillis = Number.isNaN(millis) ? rfc3339Millis(text) : millis;
  return lastMillis;
}

/**
 * Epoch milliseconds of an event time as senders write it: an RFC 3339 date-time naming a real calendar
 * instant (any fraction digits, any offset, naive ones taken as UTC), or epoch seconds or milliseconds. NaN
 * for anything else. Any finite number is a time here, however far off; whether it is believable is the
 * time policy's question (time-policy.ts).
 */
export function eventTimeMillis(value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return Number.NaN;
    return Math.abs(value) < EPOCH_SECONDS_LIMIT ? Math.round(value * 1000) : Math.round(value);
  }
  if (typeof value !== 'string') return Number.NaN;
  // timestampMillis without its first test: a record's time is rarely the text read just before, and the
  // engine's read of the same envelope then finds it remembered.
  const millis = canonicalMillis(value);
  lastText = value;
  lastMillis = Number.isNaN(millis) ? rfc3339Millis(value) : millis;
  return lastMillis;
}

/** The canonical text of a time with a four-digit year; undefined outside that span. */
export function formatTimestamp(millis: number): string | undefined {
  return millis >= MIN_TIMESTAMP_MS && millis <= MAX_TIMESTAMP_MS
    ? new Date(millis).toISOString()
    : undefined;
}

/**
 * Normalizes the timestamps senders use (see eventTimeMillis) to an ISO 8601 UTC string with millisecond
 * precision; undefined for anything else, or a time without a four-digit year.
 */
export function normalizeTimestamp(value: unknown): string | undefined {
  // Already normalized (most senders write toISOString()): nothing to rewrite.
  if (typeof value === 'string' && !Number.isNaN(canonicalMillis(value))) return value;
  return formatTimestamp(eventTimeMillis(value));
}
