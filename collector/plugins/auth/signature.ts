import { createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Verifies hushd's `x-clawdstrike-signature: sha256=<hex HMAC-SHA256(secret, body)>` in constant time.
 * Returns the signature (lowercase hex) when it verifies, for the replay guard; undefined otherwise.
 */
export function verifySignature(
  secret: string,
  body: Uint8Array,
  header: string | undefined,
): string | undefined {
  const match = header ? SIGNATURE.exec(header.trim()) : null;
  if (!match) return undefined;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex')) ? expected.toString('hex') : undefined;
}
