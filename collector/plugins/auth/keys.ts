import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from '../../config.ts';

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Keys are stored as SHA-256 digests; lookups compare digests in constant time against every key. */
export class KeyRing {
  readonly #keys: ReadonlyArray<{ key: ApiKey; digest: Buffer }>;

  constructor(keys: readonly ApiKey[]) {
    this.#keys = keys.map((key) => ({ key, digest: Buffer.from(key.sha256, 'hex') }));
  }

  find(token: string): ApiKey | undefined {
    const digest = sha256(token);
    let found: ApiKey | undefined;
    // No early exit: the time taken does not depend on which key matched, or whether one did.
    for (const entry of this.#keys) if (timingSafeEqual(entry.digest, digest)) found = entry.key;
    return found;
  }
}
