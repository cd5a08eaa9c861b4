import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-clawdstrike-signature';
export const TIMESTAMP_HEADER = 'x-clawdstrike-timestamp';

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`: the timestamp is signed so a capture cannot be replayed later. */
export function signWebhook(secret: string, timestamp: number | string, body: string | Buffer): string {
  const hmac = createHmac('sha256', secret).update(`${timestamp}.`).update(body);
  return `sha256=${hmac.digest('hex')}`;
}

export interface VerifyWebhookSignatureInput {
  secret: string;
  /** The X-Clawdstrike-Timestamp header: unix seconds. */
  timestamp: string | number | undefined;
  /** The raw request body, exactly as received (before any JSON parsing). */
  body: string | Buffer;
  /** The X-Clawdstrike-Signature header. */
  signature: string | undefined;
  /** Largest accepted distance between the timestamp and `now`, either way. */
  toleranceSeconds?: number;
  /** Epoch milliseconds; defaults to the wall clock. */
  now?: number;
}

export type WebhookVerification =
  | { valid: true }
  | { valid: false; reason: 'missing-signature' | 'bad-timestamp' | 'stale-timestamp' | 'mismatch' };

/** For receivers of clawdstrike-edr response webhooks: checks the signature and the timestamp's age. */
export function verifyWebhookSignature(input: VerifyWebhookSignatureInput): WebhookVerification {
  const { secret, timestamp, body, signature, toleranceSeconds = 300, now = Date.now() } = input;
  if (!signature?.startsWith('sha256=')) return { valid: false, reason: 'missing-signature' };
  const seconds = Number(timestamp);
  if (timestamp === undefined || timestamp === '' || !Number.isInteger(seconds)) {
    return { valid: false, reason: 'bad-timestamp' };
  }
  if (Math.abs(now / 1000 - seconds) > toleranceSeconds) return { valid: false, reason: 'stale-timestamp' };
  const expected = Buffer.from(signWebhook(secret, seconds, body));
  const given = Buffer.from(signature);
  // Compared in constant time, so response timing says nothing about how much of a guess was right.
  const same = expected.length === given.length && timingSafeEqual(expected, given);
  return same ? { valid: true } : { valid: false, reason: 'mismatch' };
}
