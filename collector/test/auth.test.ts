import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCollector } from '../index.ts';
import { bearer, collectorConfig, JSON_TYPE, KEYS, samples } from './support.ts';

let app: FastifyInstance;
afterEach(async () => {
  await app?.close();
});

const SECRET = 'whsec-unit';
const body = JSON.stringify(samples.webhook('/etc/shadow'));
const sign = (payload: string, secret = SECRET) =>
  `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`;

async function start(overrides: Parameters<typeof collectorConfig>[0] = {}) {
  app = await buildCollector(
    collectorConfig({
      sources: { hushd: { hmacSecret: SECRET }, 'open-sink': { anonymous: true } },
      auth: { headers: ['x-collector-token'], metricsScope: 'read' },
      ...overrides,
    }),
    // The signed sample is dated 2026-11-25T17:41:04Z: it arrives within its replay window.
    { clock: () => Date.parse('2026-11-25T17:41:30Z') },
  );
}

const send = (
  url: string,
  headers: Record<string, string>,
  payload = JSON.stringify(samples.policyEvent('a-1')),
) => app.inject({ method: 'POST', url, payload, headers: { ...JSON_TYPE, ...headers } });

interface Case {
  name: string;
  headers: Record<string, string>;
}

describe('ingest authentication', () => {
  it.each<Case & { status: number; code: string }>([
    { name: 'no credentials', headers: {}, status: 401, code: 'EDR_ERR_UNAUTHORIZED' },
    { name: 'an unknown key', headers: bearer('guess'), status: 401, code: 'EDR_ERR_UNAUTHORIZED' },
    {
      name: 'an unsupported scheme',
      headers: { authorization: `Basic ${KEYS.ingest}` },
      status: 401,
      code: 'EDR_ERR_UNAUTHORIZED',
    },
    {
      name: 'an empty bearer',
      headers: { authorization: 'Bearer ' },
      status: 401,
      code: 'EDR_ERR_UNAUTHORIZED',
    },
    {
      name: 'a key without the ingest scope',
      headers: bearer(KEYS.read),
      status: 403,
      code: 'EDR_ERR_FORBIDDEN',
    },
    {
      name: 'an unknown static-header key',
      headers: { 'x-collector-token': 'guess' },
      status: 401,
      code: 'EDR_ERR_UNAUTHORIZED',
    },
  ])('refuses $name with $status', async ({ headers, status, code }) => {
    await start();
    const response = await send('/v1/events', headers);
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ error: { code } });
  });

  it.each<Case>([
    { name: 'a Bearer ingest key', headers: bearer() },
    { name: 'an admin key', headers: bearer(KEYS.admin) },
    { name: 'a Splunk-scheme key', headers: { authorization: `Splunk ${KEYS.ingest}` } },
    { name: 'an ApiKey-scheme key', headers: { authorization: `ApiKey ${KEYS.ingest}` } },
    { name: 'a configured static header', headers: { 'x-collector-token': KEYS.ingest } },
  ])('accepts $name', async ({ headers }) => {
    await start();
    expect((await send('/v1/events', headers)).statusCode).toBe(202);
  });

  it('accepts no credentials only where allowed: an anonymous source, or auth.required=false', async () => {
    await start();
    expect((await send('/ingest/open-sink', {})).statusCode).toBe(202);
    expect((await send('/ingest/other', {})).statusCode).toBe(401);
    await app.close();
    await start({ auth: { required: false } });
    expect((await send('/v1/events', {})).statusCode).toBe(202);
  });

  it('answers Splunk HEC auth failures with HEC codes', async () => {
    await start();
    const hec = (headers: Record<string, string>) =>
      send('/services/collector/event', headers, '{"event":{}}');
    expect((await hec({})).json()).toEqual({ text: 'Token is required', code: 2 });
    expect((await hec({ authorization: 'Token x' })).json()).toEqual({
      text: 'Invalid authorization',
      code: 3,
    });
    const unknown = await hec({ authorization: 'Splunk guess' });
    expect(unknown.statusCode).toBe(403);
    expect(unknown.json()).toEqual({ text: 'Invalid token', code: 4 });
  });

  it('protects /metrics with the read scope when configured', async () => {
    await start();
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect(
      (await app.inject({ method: 'GET', url: '/metrics', headers: bearer(KEYS.ingest) })).statusCode,
    ).toBe(403);
    expect(
      (await app.inject({ method: 'GET', url: '/metrics', headers: bearer(KEYS.read) })).statusCode,
    ).toBe(200);
  });
});

describe('HMAC on /ingest/hushd', () => {
  const signed = (signature: string | undefined, payload = body) =>
    send('/ingest/hushd', signature === undefined ? {} : { 'x-clawdstrike-signature': signature }, payload);

  it('accepts a body whose signature verifies, without any key', async () => {
    await start();
    const response = await signed(sign(body));
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ accepted: 1 });
  });

  it.each([
    { name: 'no signature', signature: undefined },
    { name: 'a signature made with another secret', signature: sign(body, 'other') },
    { name: 'a signature of another body', signature: sign(`${body} `) },
    { name: 'a malformed signature', signature: 'sha1=abc' },
  ])('refuses $name with 401', async ({ signature }) => {
    await start();
    const response = await signed(signature);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error: { code: 'EDR_ERR_BAD_SIGNATURE' } });
  });

  it('still requires the signature when a valid key is sent too', async () => {
    await start();
    const response = await send('/ingest/hushd', bearer(), body);
    expect(response.statusCode).toBe(401);
  });
});
