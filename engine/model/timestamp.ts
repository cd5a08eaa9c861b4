const OFFSET_SUFFIX = /(?:[zZ]|[+-]\d{2}:?\d{2})$/;
const RFC3339_LIKE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[zZ]|[+-]\d{2}:?\d{2})?$/;
/** Epoch values below this are seconds, above it milliseconds (10^11 s is the year 5138). */
const EPOCH_SECONDS_LIMIT = 1e11;

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
  if (typeof value !== 'string' || !RFC3339_LIKE.test(value)) return undefined;
  let text = value.replace(' ', 'T').replace(',', '.');
  // Date.parse reads at most millisecond fractions reliably; keep three digits.
  text = text.replace(/(\.\d{3})\d+/, '$1');
  if (!OFFSET_SUFFIX.test(text)) text += 'Z';
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
