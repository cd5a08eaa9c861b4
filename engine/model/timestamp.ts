const OFFSET_SUFFIX = /(?:[zZ]|[+-]\d{2}:?\d{2})$/;
const RFC3339_LIKE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[zZ]|[+-]\d{2}:?\d{2})?$/;
/** Epoch values below this are seconds, above it milliseconds (10^11 s is the year 5138). */
const EPOCH_SECONDS_LIMIT = 1e11;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The decimal number in text[start, start + count), or NaN when a character is not a digit. */
function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (month 1-12), as Date.UTC counts them. */
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
const T = 84;
const Z = 90;

/**
 * Epoch milliseconds of the hour `YYYY-MM-DDTHH` at the start of `text`, NaN when it names no real hour.
 * Date.parse rolls 02-30 over into March and reads 24:00; neither is canonical, so both are left to it.
 */
function hourMillis(text: string): number {
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const valid =
    year >= 100 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour <= 23;
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
 * every envelope carries), read without Date.parse; NaN for any other text, which Date.parse then judges.
 * Years below 100 are left to Date.parse because Date.UTC maps them to 1900-1999.
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

/** The last text timestampMillis read, and what it read: callers often ask twice for the same event. */
let lastText = '';
let lastMillis = Number.NaN;

/** Date.parse, with the envelope's own timestamp format read directly (it is parsed once per event). */
export function timestampMillis(text: string): number {
  if (text === lastText) return lastMillis;
  const millis = canonicalMillis(text);
  lastText = text;
  lastMillis = Number.isNaN(millis) ? Date.parse(text) : millis;
  return lastMillis;
}

/**
 * Normalizes the timestamps senders use (RFC 3339 with any fraction digits or offset, naive date-times,
 * epoch seconds or milliseconds) to an ISO 8601 UTC string with millisecond precision.
 * Naive date-times are taken as UTC. Returns undefined for anything else.
 */
export function normalizeTimestamp(value: unknown): string | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    const ms = value < EPOCH_SECONDS_LIMIT ? value * 1000 : value;
    return new Date(ms).toISOString();
  }
  if (typeof value !== 'string') return undefined;
  // Already normalized (most senders write toISOString()): nothing to rewrite.
  if (!Number.isNaN(canonicalMillis(value))) return value;
  if (!RFC3339_LIKE.test(value)) return undefined;
  let text = value.replace(' ', 'T').replace(',', '.');
  // Date.parse reads at most millisecond fractions reliably; keep three digits.
  text = text.replace(/(\.\d{3})\d+/, '$1');
  if (!OFFSET_SUFFIX.test(text)) text += 'Z';
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
