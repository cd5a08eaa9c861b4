import { hash } from 'node:crypto';

/** What a long key becomes: a marker and the base64url SHA-256 of the text (51 characters). */
const DIGEST_PREFIX = '#sha256:';

/**
 * A string the engine keeps as state (a session target, a group or suppression key, a distinct value):
 * itself when at most `maxChars` long, else a digest of it. Equal texts give equal keys and different ones
 * different keys (SHA-256), so distinct counts, grouping and suppression answer as before, while no entry
 * of the state is longer than maxChars: a 4 MB path costs a session 51 characters, not 4 MB.
 */
export function stateKey(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${DIGEST_PREFIX}${hash('sha256', text, 'base64url')}`;
}

/** Characters of a digested key (stateKey of a long text). */
export const DIGEST_KEY_CHARS = DIGEST_PREFIX.length + 43;
