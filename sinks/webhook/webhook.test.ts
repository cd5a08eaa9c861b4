import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ResponseAction } from '../../engine/alert.ts';
import { overlayOf } from '../../engine/response/overlay.ts';
import { renderOverlayYaml } from '../../engine/response/yaml.ts';
import {
  type RecordedRequest,
  ScriptedHttpServer,
  type ScriptedResponse,
} from '../../test/support/http-server.ts';
import { makeAlert } from '../../test/support/sink-items.ts';
import { MemoryDeadLetterWriter } from '../driver/dead-letter.ts';
import { SinkRouter } from '../router.ts';
import { WebhookSinkConfigSchema } from './config.ts';
import { verifyWebhookSignature } from './signature.ts';
import { webhookRoutes } from './sink.ts';

const SECRET = `whsec_${Buffer.from('webhook-test-secret-0123456789').toString('base64')}`;

describe('response webhooks (against a real HTTP receiver)', () => {
  let server: ScriptedHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  async function setup(
    responder: (request: RecordedRequest, call: number) => ScriptedResponse,
    overrides: Record<string, unknown> = {},
  ) {
    let call = 0;
    server = await ScriptedHttpServer.start((request) => responder(request, ++call));
    const config = WebhookSinkConfigSchema.parse({
      type: 'webhook',
      secret: SECRET,
      vars: { agentControlApi: `${server.url}/control/v1` },
      actions: {
        terminate_session: {
          url: '{agentControlApi}/agents/{agentId}/sessions/{sessionId}/terminate',
          headers: { 'X-Team': 'soc' },
        },
        alert_soc: { url: '{agentControlApi}/soc', method: 'PUT' },
      },
      circuitBreaker: { failureThreshold: 100 },
      delivery: { retry: { attempts: 4, initialDelayMs: 1, maxDelayMs: 20 } },
      ...overrides,
    });
    const deadLetters = new MemoryDeadLetterWriter();
    const router = new SinkRouter(webhookRoutes(config), { deadLetters });
    return { router, deadLetters, server };
  }

  const onlyTerminate = (overrides = {}) => makeAlert({ actions: ['terminate_session'], ...overrides });

  it('sends one signed request per action, to the templated URL, that the exported helper verifies', async () => {
    const { router, server: receiver } = await setup(() => ({ status: 204 }));
    const alert = makeAlert({ sessionId: 'sess/42 x?#' });

    const report = await router.deliver({ alerts: [alert] });

    expect(report).toMatchObject({ written: 2, routes: { 'webhook.terminate_session': { written: 1 } } });
    const terminate = receiver.requests.find((request) => request.path.endsWith('/terminate'))!;
    expect(terminate.method).toBe('POST');
    expect(terminate.path).toBe(`/control/v1/agents/agent-7/sessions/sess%2F42%20x%3F%23/terminate`);
    expect(terminate.headers['x-team']).toBe('soc');
    expect(terminate.headers['idempotency-key']).toBe(`${alert.alertId}:terminate_session`);
    expect(terminate.headers['webhook-id']).toBe(`${alert.alertId}:terminate_session`);
    expect(JSON.parse(terminate.body.toString())).toEqual({
      alertId: alert.alertId,
      action: 'terminate_session',
      ruleId: alert.ruleId,
      severity: 'critical',
      agentId: 'agent-7',
      sessionId: 'sess/42 x?#',
      timestamp: alert.timestamp,
      alert,
    });
    const verification = verifyWebhookSignature({ ...verificationInput(terminate), secret: SECRET });
    expect(verification).toMatchObject({ valid: true, id: `${alert.alertId}:terminate_session` });
    const otherSecret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    expect(verifyWebhookSignature({ ...verificationInput(terminate), secret: otherSecret })).toMatchObject({
      valid: false,
      reason: 'mismatch',
    });
    const soc = receiver.requests.find((request) => request.path === '/control/v1/soc')!;
    expect(soc.method).toBe('PUT');
    await router.close();
  });

  it('an update_policy body carries the policy suggestion, as an object and as the YAML to apply', async () => {
    const { router, server: receiver } = await setup(() => ({ status: 204 }), {
      actions: { update_policy: { url: '{agentControlApi}/agents/{agentId}/policy-suggestions' } },
    });
    const policySuggestion = overlayOf(
      [{ kind: 'egress_block', value: 'evil.example' }],
      'clawdstrike:default',
    )!.overlay;
    const suggesting = makeAlert({ actions: ['update_policy'], response: { policySuggestion } });
    const silent = makeAlert({ actions: ['update_policy'] });

    const report = await router.deliver({ alerts: [suggesting, silent] });

    expect(report).toMatchObject({ written: 2 });
    const bodies = new Map(
      receiver.requests.map((request) => {
        const body = JSON.parse(request.body.toString()) as Record<string, unknown>;
        return [body.alertId, body];
      }),
    );
    expect(bodies.get(suggesting.alertId)).toMatchObject({
      action: 'update_policy',
      policySuggestion,
      policySuggestionYaml: renderOverlayYaml(policySuggestion),
    });
    expect(parse(String(bodies.get(suggesting.alertId)?.policySuggestionYaml))).toEqual(policySuggestion);
    expect(bodies.get(silent.alertId)).toMatchObject({ policySuggestion: null, policySuggestionYaml: null });
    expect(receiver.requests[0]!.path).toBe('/control/v1/agents/agent-7/policy-suggestions');
    await router.close();
  });

  it('retries after 5xx with the same body and idempotency key, re-signing each attempt', async () => {
    const { router, server: receiver } = await setup((_, call) => ({ status: call <= 2 ? 500 : 200 }));
    const report = await router.deliver({ alerts: [onlyTerminate()] });
    expect(report).toMatchObject({ written: 1, deadLettered: 0 });
    expect(receiver.requests).toHaveLength(3);
    const keys = new Set(receiver.requests.map((request) => request.headers['idempotency-key']));
    const bodies = new Set(receiver.requests.map((request) => request.body.toString()));
    expect(keys.size).toBe(1);
    expect(bodies.size).toBe(1);
    for (const request of receiver.requests) {
      expect(verifyWebhookSignature({ ...verificationInput(request), secret: SECRET }).valid).toBe(true);
    }
    await router.close();
  });

  it('honours Retry-After before the next attempt', async () => {
    const { router, server: receiver } = await setup(
      (_, call) => (call === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 }),
      { delivery: { retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5_000 } } },
    );
    await router.deliver({ alerts: [onlyTerminate()] });
    const [first, second] = receiver.requests as [RecordedRequest, RecordedRequest];
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
    await router.close();
  });

  it('retries a timeout; a 4xx is dead-lettered at once; a 409 means already done', async () => {
    const slow = await setup((_, call) => ({ status: 200, delayMs: call === 1 ? 300 : 0 }), {
      timeoutMs: 50,
    });
    expect(await slow.router.deliver({ alerts: [onlyTerminate()] })).toMatchObject({ written: 1 });
    expect(slow.server.requests).toHaveLength(2);
    await slow.router.close();
    await slow.server.close();

    const rejected = await setup(() => ({ status: 400, body: '{"error":"unknown session"}' }));
    expect(await rejected.router.deliver({ alerts: [onlyTerminate()] })).toMatchObject({ deadLettered: 1 });
    expect(rejected.server.requests).toHaveLength(1);
    expect(rejected.deadLetters.letters[0]).toMatchObject({ sink: 'webhook.terminate_session', attempts: 1 });
    expect(rejected.deadLetters.letters[0]!.reason).toBe('HTTP 400: {"error":"unknown session"}');
    await rejected.router.close();
    await rejected.server.close();

    const done = await setup(() => ({ status: 409 }));
    expect(await done.router.deliver({ alerts: [onlyTerminate()] })).toMatchObject({ duplicates: 1 });
    await done.router.close();
  });

  it('retries refused connections like any transient failure', async () => {
    const { router, deadLetters, server: receiver } = await setup(() => ({ status: 200 }));
    await receiver.close();
    server = undefined;
    expect(await router.deliver({ alerts: [onlyTerminate()] })).toMatchObject({ deadLettered: 1 });
    expect(deadLetters.letters[0]!.reason).toMatch(
      /retries exhausted after 4 attempts: sink temporarily failed: POST http:\/\/127\.0\.0\.1:\d+ ECONNREFUSED/,
    );
    await router.close();
  });

  it('dead-letters after the retry budget, with the last reason', async () => {
    const { router, deadLetters, server: receiver } = await setup(() => ({ status: 502 }));
    const alert = onlyTerminate();
    expect(await router.deliver({ alerts: [alert] })).toMatchObject({ written: 0, deadLettered: 1 });
    expect(receiver.requests).toHaveLength(4);
    expect(deadLetters.letters[0]).toMatchObject({
      id: alert.alertId,
      kind: 'alert',
      attempts: 4,
      item: alert,
    });
    expect(deadLetters.letters[0]!.reason).toBe('retries exhausted after 4 attempts: HTTP 502');
    await router.close();
  });

  it('opens the endpoint circuit after repeated failures and closes it after a successful trial', async () => {
    let healthy = false;
    const {
      router,
      deadLetters,
      server: receiver,
    } = await setup(() => ({ status: healthy ? 200 : 500 }), {
      circuitBreaker: { failureThreshold: 2, openMs: 300 },
      delivery: { retry: { attempts: 4, initialDelayMs: 1, maxDelayMs: 10 } },
    });
    const circuit = () => {
      const stats = router.stats().find((route) => route.name === 'webhook.terminate_session')!;
      const circuits = (
        stats.sink as { circuits: Record<string, { state: string; rejected: number; opened: number }> }
      ).circuits;
      return circuits[receiver.url]!;
    };

    await router.deliver({ alerts: [onlyTerminate()] });
    // Two failures opened it; the two later attempts were refused without a request.
    expect(receiver.requests).toHaveLength(2);
    expect(circuit()).toMatchObject({ state: 'open', opened: 1, rejected: 2 });
    expect(deadLetters.letters[0]!.reason).toMatch(/circuit open for http:\/\/127\.0\.0\.1/);

    healthy = true;
    await new Promise((resolve) => setTimeout(resolve, 320));
    expect(await router.deliver({ alerts: [onlyTerminate()] })).toMatchObject({ written: 1 });
    expect(circuit()).toMatchObject({ state: 'closed', consecutiveFailures: 0, opened: 1 });
    await router.close();
  });

  it('never makes the router push back: a full webhook queue dead-letters instead', async () => {
    const { router, deadLetters } = await setup(() => ({ status: 200, delayMs: 50 }), {
      delivery: { maxPendingItems: 2, concurrency: 1 },
    });
    const alerts = Array.from({ length: 5 }, () => onlyTerminate());
    const pending = router.deliver({ alerts });
    expect(router.saturated()).toBe(false);
    expect(await pending).toMatchObject({ written: 2, deadLettered: 3 });
    expect(deadLetters.letters.map((letter) => letter.reason)).toEqual(Array(3).fill('delivery queue full'));
    await router.close();
  });

  it('rejects configs with unsigned targets or unknown URL placeholders', () => {
    const parse = (actions: Partial<Record<ResponseAction, unknown>>, extra = {}) =>
      WebhookSinkConfigSchema.safeParse({ type: 'webhook', actions, ...extra });
    expect(parse({ rate_limit: { url: 'https://x/{agentId}' } }).success).toBe(false);
    const unknown = parse(
      { rate_limit: { url: '{base}/{nope}', secret: SECRET } },
      { vars: { base: 'https://x' } },
    );
    expect(unknown.error?.issues[0]?.message).toBe('unknown placeholder {nope}');
    expect(
      parse({ rate_limit: { url: '{base}/{agentId}', secret: SECRET } }, { vars: { base: 'https://x' } })
        .success,
    ).toBe(true);
    const inHost = parse({ rate_limit: { url: 'https://{agentId}.control.example/x', secret: SECRET } });
    expect(inHost.error?.issues[0]?.message).toBe(
      'alert fields may stand in the path or the query, not in the scheme or host',
    );
    const noScheme = parse(
      { rate_limit: { url: '{base}/{agentId}', secret: SECRET } },
      { vars: { base: 'x' } },
    );
    expect(noScheme.error?.issues[0]?.message).toMatch(/must start with a scheme and host/);
    const weakSecret = parse({ rate_limit: { url: 'https://x/', secret: 'at-least-sixteen-characters' } });
    expect(weakSecret.error?.issues[0]?.message).toBe('must be whsec_ followed by padded base64');
  });
});

function verificationInput(request: RecordedRequest) {
  return { headers: request.headers, body: request.body };
}
