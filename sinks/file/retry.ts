import type { RetryVerdict } from '../driver/verdict.ts';

/** Conditions that pass by themselves or once space is freed: a full disk, a busy device, descriptors. */
const TRANSIENT_CODES = new Set(['ENOSPC', 'EDQUOT', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'EIO', 'EINTR']);

/**
 * No item can make a file write fail (its content is just bytes), so a file error never dead-letters:
 * transient ones are an outage, the others (read-only folder, permissions, a file where the folder should be)
 * make the sink unusable until an operator fixes the folder. `path` names the file that failed.
 */
export function classifyFileError(error: unknown, path: string): RetryVerdict {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const reason = message.includes(path) ? message : `${path}: ${message}`;
  return typeof code === 'string' && TRANSIENT_CODES.has(code)
    ? { action: 'retry', reason }
    : { action: 'unusable', reason };
}
