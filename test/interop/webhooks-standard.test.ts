/**
 * Issue 14, item 5: response webhooks verified by the real `standardwebhooks` package (1.1.1). The deliveries
 * are the ones the webhook sink really sent, captured by a real HTTP receiver; the sink signs with three rotated
 * whsec_ secrets and one whsk_ ed25519 key at once. The package has no ed25519, so the v1a entry is checked with
 * node:crypto here, from the whpk_ public key alone.
 */
import { createPublicKey, randomBytes, verify as verifyEd25519 } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResponseAction } from '../../engine/alert.ts';
import {
  MemoryDeadLetterWriter,
  SinkRouter,
  verifyWebhookSignature,
  WebhookSinkConfigSchema,
  webhookPublicKey,
} from '../../sinks/index.ts';
import { webhookRoutes } from '../../sinks/webhook/sink.ts';
import { type RecordedRequest, ScriptedHttpServer } from '../support/http-server.ts';
import { makeAlert } from '../support/sink-items.ts';
import { SPEC_VECTOR as SPEC } from '../support/standard-webhooks.ts';

const newSecret = (bytes: number) => `whsec_${randomBytes(bytes).toString('base64')}`;
/** The current secret first, then two older ones still in rotation; sizes at the spec's bounds and between. */
const ROTATED = [newSecret(32), newSecret(24), newSecret(64)];
const ED25519_SECRET = `whsk_${randomBytes(32).toString('base64')}`;
const ED25519_PUBLIC = webhookPublicKey(ED25519_SECRET);
const ACTIONS: ResponseAction[] = ['terminate_session', 'alert_soc'];
const ALERTS = 5;

let server: ScriptedHttpServer;
let deliveries: RecordedRequest[];
let expectedIds: string[];
beforeAll(async () => {
  server = await ScriptedHttpServer.start(() => ({ status: 204 }));
  const config = WebhookSinkConfigSchema.parse({
    type: 'webhook',
    secret: [...ROTATED, ED25519_SECRET],
    actions: {
      terminate_session: { url: `${server.url}/terminate/{sessionId}` },
      alert_soc: { url: `${server.url}/soc` },
    },
  });
  const router = new SinkRouter(webhookRoutes(config), { deadLetters: new MemoryDeadLetterWriter() });
  const alerts = Array.from({ length: ALERTS }, (_, index) =>
    makeAlert({ actions: ACTIONS, sessionId: `sess-${index}` }),
  );
  expectedIds = alerts.flatMap((alert) => ACTIONS.map((action) => `${alert.alertId}:${action}`)).sort();
  const report = await router.deliver({ alerts });
  await router.close();
  expect(report).toMatchObject({ written: ALERTS * ACTIONS.length, deadLettered: 0 });
  deliveries = server.requests;
});
afterAll(() => server.close());

const standardHeaders = (request: RecordedRequest) => ({
  'webhook-id': request.headers['webhook-id'] as string,
  'webhook-timestamp': request.headers['webhook-timestamp'] as string,
  'webhook-signature': request.headers['webhook-signature'] as string,
});

describe('standardwebhooks verifies what the sink delivered', () => {
  it('received every delivery once, by webhook-id', () => {
    expect(deliveries.map((request) => request.headers['webhook-id']).sort()).toEqual(expectedIds);
  });

  it('signs each delivery once per key: three v1 entries, then one v1a, space separated', () => {
    for (const request of deliveries) {
      expect(standardHeaders(request)['webhook-signature']).toMatch(
        /^v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}= v1a,[A-Za-z0-9+/]{86}==$/,
      );
    }
  });

  it.each(ROTATED.map((secret, index) => [index, secret]))(
    'Webhook(rotated secret %i).verify accepts every delivery, with and without whsec_',
    (_index, secret) => {
      for (const request of deliveries) {
        const payload = new Webhook(secret).verify(request.body.toString('utf8'), standardHeaders(request));
        expect(payload).toEqual(JSON.parse(request.body.toString('utf8')));
        const bare = new Webhook(secret.slice('whsec_'.length));
        expect(() => bare.verify(request.body, standardHeaders(request))).not.toThrow();
      }
    },
  );

  it('Webhook.verify rejects a secret out of rotation, a changed body and a changed id', () => {
    const request = deliveries[0]!;
    const headers = standardHeaders(request);
    expect(() => new Webhook(newSecret(32)).verify(request.body, headers)).toThrow(/No matching signature/);
    const current = new Webhook(ROTATED[0]!);
    const tampered = Buffer.concat([request.body, Buffer.from(' ')]);
    expect(() => current.verify(tampered, headers)).toThrow(/No matching signature/);
    expect(() => current.verify(request.body, { ...headers, 'webhook-id': 'other' })).toThrow(
      /No matching signature/,
    );
  });

  it('the v1a entry verifies with node:crypto from the whpk_ key alone (the package has no ed25519)', () => {
    const publicKey = createPublicKey({
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        x: Buffer.from(ED25519_PUBLIC.slice(5), 'base64').toString('base64url'),
      },
      format: 'jwk',
    });
    for (const request of deliveries) {
      const headers = standardHeaders(request);
      const entry = headers['webhook-signature'].split(' ').find((item) => item.startsWith('v1a,'))!;
      const content = Buffer.concat([
        Buffer.from(`${headers['webhook-id']}.${headers['webhook-timestamp']}.`),
        request.body,
      ]);
      const signature = Buffer.from(entry.slice('v1a,'.length), 'base64');
      expect(verifyEd25519(null, content, publicKey, signature)).toBe(true);
      expect(verifyEd25519(null, Buffer.concat([content, Buffer.from('x')]), publicKey, signature)).toBe(
        false,
      );
    }
  });

  it('our verifier accepts each key alone, or the list, and refuses the signing key and foreign keys', () => {
    for (const request of deliveries) {
      const input = { headers: request.headers, body: request.body };
      for (const key of [...ROTATED, ED25519_PUBLIC, [newSecret(32), ED25519_PUBLIC]]) {
        expect(verifyWebhookSignature({ ...input, secret: key })).toMatchObject({ valid: true });
      }
      const foreignPublic = webhookPublicKey(`whsk_${randomBytes(32).toString('base64')}`);
      expect(verifyWebhookSignature({ ...input, secret: [newSecret(32), foreignPublic] })).toMatchObject({
        valid: false,
        reason: 'mismatch',
      });
      expect(verifyWebhookSignature({ ...input, secret: ED25519_SECRET })).toMatchObject({
        valid: false,
        reason: 'bad-secret',
      });
    }
  });
});

describe('the spec vector and the package agree with our verifier', () => {
  it('the spec signature passes our verifier, and the package signs the vector to it', () => {
    const headers = {
      'webhook-id': SPEC.id,
      'webhook-timestamp': String(SPEC.timestamp),
      'webhook-signature': SPEC.signature,
    };
    const now = SPEC.timestamp * 1000;
    expect(verifyWebhookSignature({ secret: SPEC.secret, headers, body: SPEC.body, now })).toEqual({
      valid: true,
      id: SPEC.id,
      timestamp: SPEC.timestamp,
    });
    expect(new Webhook(SPEC.secret).sign(SPEC.id, new Date(now), SPEC.body)).toBe(SPEC.signature);
  });

  // The package reads the wall clock itself, so the cases stay a second or two away from the 300 s edge
  // (which sinks/webhook/signature.test.ts checks exactly).
  it('a message the package signs now passes our verifier; outside ±5 minutes it fails both', () => {
    const webhook = new Webhook(ROTATED[1]!);
    const body = JSON.stringify({ hello: 'world' });
    for (const [offsetSeconds, valid] of [
      [0, true],
      [-299, true],
      [299, true],
      [-302, false],
      [302, false],
    ] as const) {
      const timestamp = Math.floor(Date.now() / 1000) + offsetSeconds;
      const headers = {
        'webhook-id': 'msg_interop',
        'webhook-timestamp': String(timestamp),
        'webhook-signature': webhook.sign('msg_interop', new Date(timestamp * 1000), body),
      };
      const ours = verifyWebhookSignature({ secret: ROTATED[1]!, headers, body, now: Date.now() });
      expect(ours.valid).toBe(valid);
      if (valid) expect(() => webhook.verify(body, headers)).not.toThrow();
      else expect(() => webhook.verify(body, headers)).toThrow(/Message timestamp too/);
    }
  });
});
