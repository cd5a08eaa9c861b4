import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SPEC_VECTOR as SPEC } from '../../test/support/standard-webhooks.ts';
import { secretProblem, signWebhook, verifyWebhookSignature, webhookPublicKey } from './signature.ts';

const at = (seconds: number) => seconds * 1000;
const specHeaders = (overrides: Record<string, string | string[] | undefined> = {}) => ({
  'webhook-id': SPEC.id,
  'webhook-timestamp': String(SPEC.timestamp),
  'webhook-signature': SPEC.signature,
  ...overrides,
});

describe('Standard Webhooks signatures', () => {
  it('signs the spec vector to the spec signature, and verifies it with and without whsec_', () => {
    expect(signWebhook(SPEC.secret, SPEC.id, SPEC.timestamp, SPEC.body)).toBe(SPEC.signature);
    const input = { headers: specHeaders(), body: SPEC.body, now: at(SPEC.timestamp) };
    expect(verifyWebhookSignature({ ...input, secret: SPEC.secret })).toEqual({
      valid: true,
      id: SPEC.id,
      timestamp: SPEC.timestamp,
    });
    expect(verifyWebhookSignature({ ...input, secret: SPEC.secret.slice('whsec_'.length) }).valid).toBe(true);
    expect(
      verifyWebhookSignature({ ...input, body: Buffer.from(SPEC.body), secret: SPEC.secret }).valid,
    ).toBe(true);
  });

  it('is HMAC-SHA256 over id.timestamp.body with the base64-decoded secret (recomputed independently)', () => {
    const key = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64');
    const mac = createHmac('sha256', key)
      .update(`${SPEC.id}.${SPEC.timestamp}.${SPEC.body}`)
      .digest('base64');
    expect(`v1,${mac}`).toBe(SPEC.signature);
  });

  it('accepts a multi-signature header when one v1 entry matches (the spec test)', () => {
    const other = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
    const headers = specHeaders({
      'webhook-signature': `${other} v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ${SPEC.signature} ${other}`,
    });
    const result = verifyWebhookSignature({
      secret: SPEC.secret,
      headers,
      body: SPEC.body,
      now: at(SPEC.timestamp),
    });
    expect(result.valid).toBe(true);
  });

  it('accepts timestamps within five minutes either way and rejects one second more', () => {
    const verify = (nowSeconds: number) =>
      verifyWebhookSignature({
        secret: SPEC.secret,
        headers: specHeaders(),
        body: SPEC.body,
        now: at(nowSeconds),
      });
    expect(verify(SPEC.timestamp + 300).valid).toBe(true);
    expect(verify(SPEC.timestamp - 300).valid).toBe(true);
    expect(verify(SPEC.timestamp + 301)).toEqual({
      valid: false,
      reason: 'stale-timestamp',
      header: 'webhook-timestamp',
    });
    expect(verify(SPEC.timestamp - 301)).toMatchObject({ valid: false, reason: 'stale-timestamp' });
  });

  const malformed: Array<[string, Record<string, unknown>, string, string?]> = [
    ['missing id', { headers: specHeaders({ 'webhook-id': undefined }) }, 'missing-header', 'webhook-id'],
    [
      'missing timestamp',
      { headers: specHeaders({ 'webhook-timestamp': undefined }) },
      'missing-header',
      'webhook-timestamp',
    ],
    [
      'missing signature',
      { headers: specHeaders({ 'webhook-signature': undefined }) },
      'missing-header',
      'webhook-signature',
    ],
    ['empty signature', { headers: specHeaders({ 'webhook-signature': '' }) }, 'missing-header'],
    ['no headers at all', { headers: {} }, 'missing-header'],
    ['headers not an object', { headers: null }, 'missing-header'],
    [
      'timestamp twice (array)',
      { headers: specHeaders({ 'webhook-timestamp': [String(SPEC.timestamp), '1'] }) },
      'duplicate-header',
      'webhook-timestamp',
    ],
    [
      'signature under two letter cases',
      { headers: { ...specHeaders(), 'Webhook-Signature': SPEC.signature } },
      'duplicate-header',
      'webhook-signature',
    ],
    [
      'id joined by node from two headers',
      { headers: specHeaders({ 'webhook-id': `${SPEC.id}, other` }) },
      'malformed-header',
      'webhook-id',
    ],
    ['id with a dot', { headers: specHeaders({ 'webhook-id': 'msg.1' }) }, 'malformed-header', 'webhook-id'],
    ...[
      '+1614265330',
      '1614265330.0',
      '0x603a1c32',
      '1.61426533e9',
      ' 1614265330',
      '01614265330',
      '-1',
      'abc',
    ].map((timestamp): [string, Record<string, unknown>, string, string?] => [
      `timestamp ${JSON.stringify(timestamp)}`,
      { headers: specHeaders({ 'webhook-timestamp': timestamp }) },
      'malformed-header',
      'webhook-timestamp',
    ]),
    [
      'truncated signature',
      { headers: specHeaders({ 'webhook-signature': SPEC.signature.slice(0, -5) }) },
      'malformed-header',
      'webhook-signature',
    ],
    ['bare v1,', { headers: specHeaders({ 'webhook-signature': 'v1,' }) }, 'malformed-header'],
    [
      'signature not base64',
      { headers: specHeaders({ 'webhook-signature': 'v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=' }) },
      'malformed-header',
    ],
    [
      'signature of 33 bytes',
      { headers: specHeaders({ 'webhook-signature': `v1,${Buffer.alloc(33).toString('base64')}` }) },
      'malformed-header',
    ],
    [
      'two spaces between entries',
      { headers: specHeaders({ 'webhook-signature': `${SPEC.signature}  ${SPEC.signature}` }) },
      'malformed-header',
    ],
    [
      'seventeen entries',
      { headers: specHeaders({ 'webhook-signature': Array(17).fill(SPEC.signature).join(' ') }) },
      'malformed-header',
    ],
    ['tolerance NaN', { toleranceSeconds: Number.NaN }, 'bad-options'],
    ['tolerance -1', { toleranceSeconds: -1 }, 'bad-options'],
    ['tolerance Infinity', { toleranceSeconds: Number.POSITIVE_INFINITY }, 'bad-options'],
    ['now NaN', { now: Number.NaN }, 'bad-options'],
    ['secret not base64', { secret: 'whsec_not base64!' }, 'bad-secret'],
    ['secret of 16 bytes', { secret: `whsec_${Buffer.alloc(16, 1).toString('base64')}` }, 'bad-secret'],
    ['secret not a string', { secret: undefined }, 'bad-secret'],
    ['body not a string', { body: { test: 2432232314 } }, 'bad-body'],
    ['tampered body', { body: '{"test": 2432232315}' }, 'mismatch'],
    ['other secret', { secret: `whsec_${Buffer.alloc(24, 7).toString('base64')}` }, 'mismatch'],
    ['only unknown versions', { headers: specHeaders({ 'webhook-signature': 'v2,abc=' }) }, 'mismatch'],
  ];

  it.each(malformed)('fails closed: %s', (_name, overrides, reason, header) => {
    const input = {
      secret: SPEC.secret,
      headers: specHeaders(),
      body: SPEC.body,
      now: at(SPEC.timestamp),
      ...overrides,
    } as Parameters<typeof verifyWebhookSignature>[0];
    const result = verifyWebhookSignature(input);
    expect(result).toMatchObject({ valid: false, reason });
    if (header) expect(result).toMatchObject({ header });
  });

  it('says what is wrong with an unusable secret', () => {
    expect(secretProblem(SPEC.secret)).toBeUndefined();
    expect(secretProblem('whsec-test-0123456789abcdef')).toBe('must be whsec_ followed by padded base64');
    expect(secretProblem(`whsec_${Buffer.alloc(65).toString('base64')}`)).toBe(
      'must decode to 24 to 64 bytes, not 65',
    );
    expect(() => signWebhook('short', SPEC.id, 1, '')).toThrow(/webhook secret must be whsec_/);
  });

  describe('rotation and ed25519 (v1a)', () => {
    const ed25519 = `whsk_${Buffer.alloc(32, 9).toString('base64')}`;
    const signed = (secrets: string | string[]) => ({
      headers: specHeaders({ 'webhook-signature': signWebhook(secrets, SPEC.id, SPEC.timestamp, SPEC.body) }),
      body: SPEC.body,
      now: at(SPEC.timestamp),
    });

    it('signs once per key, in order, the v1 entries equal to single-key signing', () => {
      const other = `whsec_${Buffer.alloc(24, 5).toString('base64')}`;
      const header = signWebhook([SPEC.secret, other, ed25519], SPEC.id, SPEC.timestamp, SPEC.body).split(
        ' ',
      );
      expect(header).toHaveLength(3);
      expect(header[0]).toBe(SPEC.signature);
      expect(header[1]).toBe(signWebhook(other, SPEC.id, SPEC.timestamp, SPEC.body));
      expect(header[2]).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
      for (const key of [SPEC.secret, other, webhookPublicKey(ed25519)]) {
        expect(verifyWebhookSignature({ ...signed([SPEC.secret, other, ed25519]), secret: key }).valid).toBe(
          true,
        );
      }
    });

    it('derives the whpk_ key node:crypto derives, and a foreign public key does not verify', () => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const seed = privateKey.export({ format: 'jwk' }).d!;
      const secret = `whsk_${Buffer.from(seed, 'base64url').toString('base64')}`;
      const x = publicKey.export({ format: 'jwk' }).x!;
      expect(webhookPublicKey(secret)).toBe(`whpk_${Buffer.from(x, 'base64url').toString('base64')}`);
      expect(verifyWebhookSignature({ ...signed(secret), secret: webhookPublicKey(ed25519) })).toMatchObject({
        valid: false,
        reason: 'mismatch',
      });
    });

    it.each([
      ['a whsk_ key given to the verifier', ed25519],
      ['a whpk_ key of 31 bytes', `whpk_${Buffer.alloc(31).toString('base64')}`],
      ['an empty list', []],
      ['nine keys', Array(9).fill(SPEC.secret)],
      ['a list with a non-string', [SPEC.secret, 7]],
    ])('refuses %s as bad-secret', (_name, secret) => {
      const input = { ...signed(SPEC.secret), secret } as Parameters<typeof verifyWebhookSignature>[0];
      expect(verifyWebhookSignature(input)).toMatchObject({ valid: false, reason: 'bad-secret' });
    });

    it('refuses a v1a entry that is not 64 bytes, and says what is wrong with a whsk_ key', () => {
      const headers = specHeaders({ 'webhook-signature': `v1a,${Buffer.alloc(63).toString('base64')}` });
      const input = { headers, body: SPEC.body, now: at(SPEC.timestamp), secret: webhookPublicKey(ed25519) };
      expect(verifyWebhookSignature(input)).toMatchObject({ reason: 'malformed-header' });
      expect(secretProblem(ed25519)).toBeUndefined();
      expect(secretProblem('whsk_AAAA')).toBe(
        'must be whsk_ followed by the base64 of a 32-byte ed25519 key',
      );
      expect(() => signWebhook([], SPEC.id, 1, '')).toThrow(/1 to 8, not 0/);
    });
  });
});
