import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from './signature.ts';

const secret = 'whsec-0123456789abcdef';
const body = '{"alertId":"alr-1","action":"terminate_session"}';
const now = Date.parse('2026-03-14T10:00:00Z');
const timestamp = now / 1000;

describe('webhook signatures', () => {
  it('is the hex HMAC-SHA256 of "<timestamp>.<body>" prefixed with sha256=', () => {
    const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
    expect(signWebhook(secret, timestamp, body)).toBe(`sha256=${expected}`);
  });

  it('accepts a fresh, matching signature and a Buffer body', () => {
    const signature = signWebhook(secret, timestamp, body);
    expect(verifyWebhookSignature({ secret, timestamp: String(timestamp), body, signature, now })).toEqual({
      valid: true,
    });
    expect(verifyWebhookSignature({ secret, timestamp, body: Buffer.from(body), signature, now }).valid).toBe(
      true,
    );
  });

  it('rejects timestamps more than five minutes away, either way', () => {
    const signed = (at: number) => ({
      secret,
      body,
      timestamp: at,
      signature: signWebhook(secret, at, body),
      now,
    });
    expect(verifyWebhookSignature(signed(timestamp - 300)).valid).toBe(true);
    expect(verifyWebhookSignature(signed(timestamp - 301))).toEqual({
      valid: false,
      reason: 'stale-timestamp',
    });
    expect(verifyWebhookSignature(signed(timestamp + 301))).toEqual({
      valid: false,
      reason: 'stale-timestamp',
    });
    expect(verifyWebhookSignature({ ...signed(timestamp - 600), toleranceSeconds: 900 }).valid).toBe(true);
  });

  it('rejects a tampered body, a missing signature and a malformed timestamp', () => {
    const signature = signWebhook(secret, timestamp, body);
    const input = { secret, timestamp, body, signature, now };
    expect(verifyWebhookSignature({ ...input, body: `${body} ` })).toEqual({
      valid: false,
      reason: 'mismatch',
    });
    expect(verifyWebhookSignature({ ...input, signature: 'sha256=00' })).toEqual({
      valid: false,
      reason: 'mismatch',
    });
    expect(verifyWebhookSignature({ ...input, signature: undefined })).toEqual({
      valid: false,
      reason: 'missing-signature',
    });
    expect(verifyWebhookSignature({ ...input, timestamp: '12.5' })).toEqual({
      valid: false,
      reason: 'bad-timestamp',
    });
    expect(verifyWebhookSignature({ ...input, timestamp: undefined })).toEqual({
      valid: false,
      reason: 'bad-timestamp',
    });
  });
});
