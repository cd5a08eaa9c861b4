import type { RetryVerdict } from '../driver/verdict.ts';

/** Conditions that pass (a full disk gets cleaned, descriptors get freed); anything else needs an operator. */
const TRANSIENT_CODES = new Set(['ENOSPC', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'EIO']);

export function classifyFileError(error: unknown): RetryVerdict {
  const code = (error as { code?: unknown }).code;
  const reason = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && TRANSIENT_CODES.has(code)
    ? { action: 'retry', reason }
    : { action: 'give-up', reason };
}
