import type { RetryVerdict } from '../driver/verdict.ts';

/** SQLite result codes (extended codes start with their primary one, e.g. SQLITE_IOERR_WRITE). */
const TRANSIENT = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_PROTOCOL',
  'SQLITE_NOMEM',
];
/** Failures one item causes: it is too large or does not fit a column; the others are written. */
const ITEM_FAILURES = ['SQLITE_TOOBIG', 'SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_RANGE'];

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

const startsWithAny = (code: string, prefixes: readonly string[]) =>
  prefixes.some((prefix) => code === prefix || code.startsWith(`${prefix}_`));

/** Whether an error raised while inserting one item is that item's alone (it is dead-lettered, not retried). */
export function isItemFailure(error: unknown): boolean {
  return startsWithAny(codeOf(error), ITEM_FAILURES);
}

/**
 * A database error for the batch as a whole: a lock held too long or a full disk pass (outage, waited out);
 * anything else (read-only file, permissions, a corrupt or foreign file) needs an operator: unusable.
 */
export function classifySqliteError(error: unknown, path: string): RetryVerdict {
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const reason = `${path}: ${code ? `${code} ` : ''}${message}`;
  return startsWithAny(code, TRANSIENT) ? { action: 'retry', reason } : { action: 'unusable', reason };
}
