/**
 * Issue 13, item 7: alert fields substituted into a webhook URL cannot add, remove or climb path segments,
 * nor inject a query or fragment, and an oversized value fails at the alert (a dead letter naming the field)
 * instead of at the receiver. Every case goes through the real router and webhook sink to a real HTTP server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../engine/index.ts';
import {
  MemoryDeadLetterWriter,
  SinkRouter,
  verifyWebhookSignature,
  WebhookSinkConfigSchema,
} from '../../sinks/index.ts';
import { webhookRoutes } from '../../sinks/webhook/sink.ts';
import { type RecordedRequest, ScriptedHttpServer } from '../support/http-server.ts';
import { makeAlert } from '../support/sink-items.ts';

const SECRET = `whsec_${Buffer.alloc(32, 0x5a).toString('base64')}`;

let server: ScriptedHttpServer;
beforeAll(async () => {
  server = await ScriptedHttpServer.start(() => ({ status: 204 }));
});
afterAll(() => server.close());

async function deliver(alerts: Alert[]) {
  const deadLetters = new MemoryDeadLetterWriter();
  const config = WebhookSinkConfigSchema.parse({
    type: 'webhook',
    secret: SECRET,
    vars: { api: `${server.url}/api` },
    actions: {
      terminate_session: { url: '{api}/agents/{agentId}/sessions/{sessionId}/terminate' },
      quarantine_agent: { url: '{api}/quarantine?agent={agentId}&session={sessionId}#{groupKey}' },
    },
    delivery: { retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 5 } },
  });
  const router = new SinkRouter(webhookRoutes(config), { deadLetters });
  const before = server.requests.length;
  const report = await router.deliver({ alerts });
  await router.close();
  return { report, letters: deadLetters.letters, requests: server.requests.slice(before) };
}

const requestFor = (requests: readonly RecordedRequest[], alert: Alert) =>
  requests.filter((request) => request.headers['idempotency-key'] === `${alert.alertId}:terminate_session`);

/** The receiver's own reading: path segments split on `/`, each decoded once (what a router hands a handler). */
const segmentsOf = (request: RecordedRequest) =>
  new URL(request.path, server.url).pathname.split('/').map(decodeURIComponent);

describe('webhook URL templates against hostile alert fields', () => {
  it('control: ordinary ids reach /api/agents/<agentId>/sessions/<sessionId>/terminate, signed', async () => {
    const alert = makeAlert({ agentId: 'agent-7', sessionId: 'sess-42', actions: ['terminate_session'] });
    const { report, requests } = await deliver([alert]);
    expect(report).toMatchObject({ written: 1, deadLettered: 0 });
    const [request] = requestFor(requests, alert);
    expect(request!.path).toBe('/api/agents/agent-7/sessions/sess-42/terminate');
    expect(
      verifyWebhookSignature({ secret: SECRET, headers: request!.headers, body: request!.body }),
    ).toMatchObject({ valid: true });
  });

  // Values no encoding can carry through a decoding, normalizing receiver as one segment: refused at the alert.
  const climbing = [
    '..',
    '.',
    '%2e%2e',
    '%2E%2e',
    '.%2E',
    '%2e.',
    '%252e%252e',
    '%25252e%25252e',
    '..\\..',
    '..\\',
    'x/../..',
    'x\\..\\..\\terminate-all',
    '\uFF0E\uFF0E',
    '\u3002\u3002',
    '\u2024\u2024',
    '%2e',
    '',
  ];

  it.each(climbing)(
    'refuses sessionId %j at the alert: no request, a dead letter naming the field',
    async (sessionId) => {
      const alert = makeAlert({ sessionId, actions: ['terminate_session'] });
      const { report, letters, requests } = await deliver([alert]);
      expect(requests).toHaveLength(0);
      expect(report).toMatchObject({ written: 0, deadLettered: 1 });
      expect(letters.map((letter) => letter.id)).toEqual([alert.alertId]);
      expect(letters[0]!.reason).toMatch(
        /^webhook URL refused: sessionId .* would make the URL path segment ("\.\.?"|empty): a receiver could climb out of the templated path$/,
      );
    },
  );

  it('the issue reproduction: agentId and sessionId ".." no longer send the terminate to /api/terminate', async () => {
    const alert = makeAlert({ agentId: '..', sessionId: '..', actions: ['terminate_session'] });
    const { letters, requests } = await deliver([alert]);
    expect(requests).toHaveLength(0);
    expect(server.requests.some((request) => request.path === '/api/terminate')).toBe(false);
    expect(letters[0]!.reason).toBe(
      'webhook URL refused: agentId ".." would make the URL path segment "..": a receiver could climb out of the templated path',
    );
  });

  // Values that carry as data: escaped, delivered, and the receiver sees exactly the id in the one segment.
  const carried = [
    '...',
    '.hidden',
    'a.b',
    'sess/42',
    'a\\b',
    'x?admin=1',
    'x#frag',
    'x&agent=other',
    '%',
    'sess 42',
    'ünïcode',
    '\u0000nul',
  ];

  it.each(carried)('delivers sessionId %j as data in its own path segment', async (sessionId) => {
    const alert = makeAlert({ sessionId, actions: ['terminate_session'] });
    const { report, requests } = await deliver([alert]);
    expect(report).toMatchObject({ written: 1, deadLettered: 0 });
    const [request] = requestFor(requests, alert);
    expect(new URL(request!.path, server.url).search).toBe('');
    expect(segmentsOf(request!)).toEqual([
      '',
      'api',
      'agents',
      'agent-7',
      'sessions',
      sessionId,
      'terminate',
    ]);
  });

  it('in the query, dots are data and & ? # cannot add parameters or a fragment', async () => {
    const alert = makeAlert({
      agentId: '..',
      sessionId: 'x&admin=1#y?z',
      groupKey: '..|#',
      actions: ['quarantine_agent'],
    });
    const { report } = await deliver([alert]);
    expect(report).toMatchObject({ written: 1 });
    const request = server.requests.at(-1)!;
    const url = new URL(request.path, server.url);
    expect(url.pathname).toBe('/api/quarantine');
    expect([...url.searchParams]).toEqual([
      ['agent', '..'],
      ['session', 'x&admin=1#y?z'],
    ]);
    // The fragment never leaves the client; what matters is that nothing of it leaked into the query.
    expect(request.path).toBe('/api/quarantine?agent=..&session=x%26admin%3D1%23y%3Fz');
  });

  it('a 10 KB id fails at the alert naming the field, not with a 431 at the receiver; its siblings go', async () => {
    const huge = makeAlert({ agentId: 'a'.repeat(10_240), actions: ['terminate_session'] });
    const sibling = makeAlert({ actions: ['terminate_session'] });
    const { report, letters, requests } = await deliver([huge, sibling]);
    expect(report).toMatchObject({ written: 1, deadLettered: 1 });
    expect(requestFor(requests, huge)).toHaveLength(0);
    expect(requestFor(requests, sibling)).toHaveLength(1);
    expect(letters.map((letter) => [letter.id, letter.attempts])).toEqual([[huge.alertId, 1]]);
    expect(letters[0]!.reason).toBe(
      'webhook URL refused: agentId is 10240 bytes once URL-encoded, over the 1024 a webhook URL field may use',
    );
  });

  it('a 200-character non-ASCII id is measured encoded (6 bytes per ü): refused past 1024', async () => {
    const alert = makeAlert({ sessionId: 'ü'.repeat(200), actions: ['terminate_session'] });
    const { letters, requests } = await deliver([alert]);
    expect(requests).toHaveLength(0);
    expect(letters[0]!.reason).toMatch(/sessionId is 1200 bytes once URL-encoded, over the 1024/);
  });

  it('a lone surrogate cannot throw inside the sink: refused at the alert', async () => {
    const alert = makeAlert({ sessionId: 'x\uD800y', actions: ['terminate_session'] });
    const { letters, requests } = await deliver([alert]);
    expect(requests).toHaveLength(0);
    expect(letters[0]!.reason).toBe(
      'webhook URL refused: sessionId is not well-formed Unicode (a lone surrogate)',
    );
  });
});
