/**
 * Issue 13, item 7: verifyWebhookSignature fails closed. The requests are the ones the webhook sink really
 * sends to a real HTTP server; what they carry is checked against Standard Webhooks 1.0 independently of our
 * code (the spec's vector, and the signed content recomputed with node:crypto). The `standardwebhooks`
 * package is not a dependency here, so the spec vector stands in for it.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MemoryDeadLetterWriter,
  SinkRouter,
  signWebhook,
  verifyWebhookSignature,
  WebhookSinkConfigSchema,
} from '../../sinks/index.ts';
import { webhookRoutes } from '../../sinks/webhook/sink.ts';
import { type RecordedRequest, ScriptedHttpServer } from '../support/http-server.ts';
import { makeAlert } from '../support/sink-items.ts';

const KEY = Buffer.alloc(32, 0x3c);
const SECRET = `whsec_${KEY.toString('base64')}`;

let server: ScriptedHttpServer;
let sent: RecordedRequest;
beforeAll(async () => {
  server = await ScriptedHttpServer.start(() => ({ status: 204 }));
  const config = WebhookSinkConfigSchema.parse({
    type: 'webhook',
    secret: SECRET,
    actions: { terminate_session: { url: `${server.url}/terminate/{sessionId}` } },
  });
  const router = new SinkRouter(webhookRoutes(config), { deadLetters: new MemoryDeadLetterWriter() });
  await router.deliver({ alerts: [makeAlert({ actions: ['terminate_session'] })] });
  await router.close();
  sent = server.requests[0]!;
});
afterAll(() => server.close());

const header = (name: string) => sent.headers[name] as string;
const verify = (overrides: Partial<Parameters<typeof verifyWebhookSignature>[0]> = {}) =>
  verifyWebhookSignature({ secret: SECRET, headers: sent.headers, body: sent.body, ...overrides });

describe('what the sink sends is a Standard Webhooks request', () => {
  it('carries webhook-id, webhook-timestamp (integer seconds, now) and webhook-signature v1,<base64>', () => {
    expect(header('webhook-id')).toMatch(/^[^.,\s]+$/);
    expect(header('webhook-timestamp')).toMatch(/^[1-9][0-9]*$/);
    expect(Math.abs(Number(header('webhook-timestamp')) - Date.now() / 1000)).toBeLessThan(30);
    expect(header('webhook-signature')).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('its signature is HMAC-SHA256(base64-decoded secret, id.timestamp.body), recomputed without our code', () => {
    const content = Buffer.concat([
      Buffer.from(`${header('webhook-id')}.${header('webhook-timestamp')}.`),
      sent.body,
    ]);
    const expected = createHmac('sha256', KEY).update(content).digest('base64');
    expect(header('webhook-signature')).toBe(`v1,${expected}`);
    expect(verify()).toMatchObject({ valid: true, id: header('webhook-id') });
  });

  it('the spec vector signs and verifies', () => {
    const spec = {
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: 1614265330,
      body: '{"test": 2432232314}',
    };
    const signature = signWebhook(spec.secret, spec.id, spec.timestamp, spec.body);
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    const headers = {
      'webhook-id': spec.id,
      'webhook-timestamp': String(spec.timestamp),
      'webhook-signature': signature,
    };
    expect(
      verifyWebhookSignature({ secret: spec.secret, headers, body: spec.body, now: spec.timestamp * 1000 })
        .valid,
    ).toBe(true);
  });
});

describe('verifyWebhookSignature fails closed on the issue reproductions', () => {
  const ts = () => header('webhook-timestamp');
  // Each used to verify: Number() read them as the signed integer, or NaN disabled the age check.
  it.each([
    ['+ts', () => `+${ts()}`],
    ['ts.0', () => `${ts()}.0`],
    ['0x…', () => `0x${Number(ts()).toString(16)}`],
    ['ts with spaces', () => ` ${ts()} `],
    ['ts in exponent form', () => Number(ts()).toExponential()],
  ])('timestamp %s is malformed', (_name, timestamp) => {
    expect(verify({ headers: { ...sent.headers, 'webhook-timestamp': timestamp() } })).toEqual({
      valid: false,
      reason: 'malformed-header',
      header: 'webhook-timestamp',
    });
  });

  it.each([Number.NaN, -1, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    'tolerance %d is refused, even for a signature that is otherwise fine',
    (toleranceSeconds) => {
      expect(verify({ toleranceSeconds })).toEqual({ valid: false, reason: 'bad-options' });
    },
  );

  it('a capture an hour old with tolerance NaN is not accepted (it used to be)', () => {
    const anHourLater = (Number(ts()) + 3_600) * 1000;
    expect(verify({ now: anHourLater })).toMatchObject({ valid: false, reason: 'stale-timestamp' });
    expect(verify({ now: anHourLater, toleranceSeconds: Number.NaN })).toMatchObject({
      valid: false,
      reason: 'bad-options',
    });
  });

  it('a repeated header, as node:http reports it in headersDistinct, is a duplicate', () => {
    const distinct = Object.fromEntries(
      Object.entries(sent.headers).map(([name, value]) => [name, [value as string]]),
    );
    expect(verify({ headers: distinct }).valid).toBe(true);
    expect(
      verify({ headers: { ...distinct, 'webhook-signature': [header('webhook-signature'), 'v1,AAAA'] } }),
    ).toMatchObject({ valid: false, reason: 'duplicate-header' });
  });
});
