import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPipeline } from '../../../cli/lib/local-pipeline.ts';
import { packagePath } from '../../../core/package-path.ts';
import { loadRules } from '../../../engine/index.ts';
import { WebhookSinkConfigSchema } from '../../../sinks/index.ts';
import { ScriptedHttpServer } from '../../../test/support/http-server.ts';
import { startQuietPipeline } from '../../../test/support/local-pipelines.ts';
import { type ConsoleStore, SqliteConsoleStore } from '../../store/index.ts';
import { buildConsole, type Console } from '../app.ts';
import { type Access, CSRF_HEADER } from '../auth/plugin.ts';
import { ConsoleSettingsSchema, ROLES, type Role, roleAtLeast } from '../config.ts';
import { type ResponseRunner, webhookResponseRunner } from '../respond.ts';
import { ruleCatalog } from '../rules.ts';
import {
  consoleAccess,
  csrfFrom,
  hostileEvents,
  sendEvents,
  sessionCookie,
  upstreamEvents,
  waitForAlerts,
  webhookSecret,
} from './support.ts';

const RULES = packagePath('rules');
const TOKEN = 'cst_responder-token-for-the-access-test';
const VIEWER = { name: 'ana', role: 'viewer', password: 'correct horse' } as const;

let dataDir: string;
let pipeline: LocalPipeline;
let store: ConsoleStore;
let responder: ResponseRunner;
let receiver: ScriptedHttpServer;
let built: Console;
let base: string;
let alertId: string;
let hostileAlertId: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'edr-console-access-'));
  pipeline = await startQuietPipeline(dataDir);
  await sendEvents(pipeline, upstreamEvents());
  await sendEvents(pipeline, hostileEvents());
  receiver = await ScriptedHttpServer.start(() => ({ status: 204 }));
  responder = await webhookResponseRunner([
    WebhookSinkConfigSchema.parse({
      type: 'webhook',
      secret: webhookSecret(),
      actions: { terminate_session: { url: `${receiver.url}/sessions/{sessionId}/terminate` } },
    }),
  ]);
  store = new SqliteConsoleStore({ path: join(dataDir, 'console.db'), pollIntervalMs: 100 });
  await store.start();
  const alerts = await waitForAlerts(store, 'CREDENTIAL_EXFILTRATION', 2);
  alertId = alerts.find((record) => record.alert.sessionId === 'sess-0001')!.alert.alertId;
  hostileAlertId = alerts.find((record) => record.alert.sessionId !== 'sess-0001')!.alert.alertId;
  const rules = loadRules([RULES]);
  if (!rules.ok) throw new Error('bundled rules do not load');
  built = await buildConsole(
    ConsoleSettingsSchema.parse({
      logLevel: 'silent',
      ...(await consoleAccess([VIEWER], [{ id: 'ci-bot', role: 'responder', token: TOKEN }])),
    }),
    { store, rules: ruleCatalog(rules.value, [RULES]), responder },
  );
  base = await built.app.listen({ host: '127.0.0.1', port: 0 });
}, 120_000);

afterAll(async () => {
  await built?.app.close();
  await responder?.close();
  await store?.close();
  await receiver?.close();
  await pipeline?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Session {
  cookie: string;
  csrf: string;
}

async function login(role: Role): Promise<Session> {
  const answer = await fetch(`${base}${built.loginPath(`${role}-user`, role)}`, { redirect: 'manual' });
  expect(answer.status).toBe(303);
  const cookie = sessionCookie(answer);
  const page = await fetch(`${base}/alerts`, { headers: { cookie } });
  return { cookie, csrf: csrfFrom(await page.text()) };
}

interface Case {
  access: Access;
  path: () => string;
  body?: () => unknown;
  /** Sent as a form, the way the pages send it. */
  form?: boolean;
}

/** Every route of the console, keyed `METHOD url`; the test fails when a route has no case here. */
const CASES: Record<string, Case> = {
  'GET /login': { access: 'public', path: () => '/login' },
  'POST /login': {
    access: 'public',
    path: () => '/login',
    form: true,
    body: () => ({ user: VIEWER.name, password: VIEWER.password }),
  },
  'POST /logout': { access: 'viewer', path: () => '/logout', form: true, body: () => ({}) },
  'GET /': { access: 'viewer', path: () => '/' },
  'GET /alerts': { access: 'viewer', path: () => '/alerts?severity=critical' },
  'GET /alerts/:id': { access: 'viewer', path: () => `/alerts/${alertId}` },
  'GET /timeline': { access: 'viewer', path: () => '/timeline?agent=agent-0001&session=sess-0001' },
  'GET /agent': { access: 'viewer', path: () => '/agent?id=agent-0001' },
  'GET /rules': { access: 'viewer', path: () => '/rules' },
  'GET /rules/file': { access: 'viewer', path: () => '/rules/file?id=CREDENTIAL_EXFILTRATION' },
  'GET /api/alerts': { access: 'viewer', path: () => '/api/alerts?rule=CREDENTIAL_EXFILTRATION' },
  'GET /api/alerts/:id': { access: 'viewer', path: () => `/api/alerts/${alertId}` },
  'GET /api/timeline': { access: 'viewer', path: () => '/api/timeline?agent=agent-0001&session=sess-0001' },
  'GET /api/stream': { access: 'viewer', path: () => '/api/stream' },
  'POST /api/alerts/:id/workflow': {
    access: 'responder',
    path: () => `/api/alerts/${alertId}/workflow`,
    body: () => ({ note: 'access test' }),
  },
  'POST /api/alerts/bulk': {
    access: 'responder',
    path: () => '/api/alerts/bulk',
    body: () => ({ ids: [alertId], change: { note: 'bulk access test' } }),
  },
  'POST /api/alerts/:id/respond': {
    access: 'responder',
    path: () => `/api/alerts/${alertId}/respond`,
    body: () => ({ action: 'terminate_session' }),
  },
  'POST /api/login-links': {
    access: 'admin',
    path: () => '/api/login-links',
    body: () => ({ user: 'newcomer', role: 'viewer' }),
  },
};

const isPage = (path: string) => !path.startsWith('/api/');

/** Sends a case as `who`; the live feed is read only up to its headers. */
async function send(test: Case, method: string, headers: Record<string, string>): Promise<Response> {
  const controller = new AbortController();
  const body = test.body?.();
  const init: RequestInit = {
    method,
    headers: { ...headers },
    redirect: 'manual',
    signal: controller.signal,
  };
  if (body !== undefined) {
    if (test.form) {
      init.body = new URLSearchParams(body as Record<string, string>).toString();
      (init.headers as Record<string, string>)['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
  }
  const response = await fetch(`${base}${test.path()}`, init);
  if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) controller.abort();
  return response;
}

describe('console access', () => {
  it('has a case for every route, and each route declares the access the case expects', () => {
    const declared = Object.fromEntries(
      built.routes.map((route) => [`${route.method} ${route.url}`, route.access]),
    );
    expect(Object.keys(declared).sort()).toEqual(Object.keys(CASES).sort());
    for (const [key, test] of Object.entries(CASES)) expect(declared[key], key).toBe(test.access);
  });

  it('answers every route for every role as the role allows, and nothing to anonymous callers', async () => {
    const outcomes: string[] = [];
    for (const [key, test] of Object.entries(CASES)) {
      const method = key.split(' ')[0]!;
      const changes = method !== 'GET';
      for (const role of [undefined, ...ROLES]) {
        const session = role ? await login(role) : undefined;
        const headers: Record<string, string> = session ? { cookie: session.cookie } : {};
        if (session && changes) headers[CSRF_HEADER] = session.csrf;
        const response = await send(test, method, headers);
        const allowed = test.access === 'public' || (role !== undefined && roleAtLeast(role, test.access));
        let expected: number[];
        if (allowed) expected = [200, 201, 202, 303];
        else if (!role) expected = isPage(test.path()) && !changes ? [303] : [401];
        else expected = [403];
        outcomes.push(`${key} as ${role ?? 'anonymous'}: ${response.status}`);
        expect(expected, `${key} as ${role ?? 'anonymous'} answered ${response.status}`).toContain(
          response.status,
        );
        if (!allowed && !role && response.status === 303) {
          expect(response.headers.get('location')).toMatch(/^\/login\?next=/);
        }
        if (response.status === 403)
          expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
            'EDR_ERR_FORBIDDEN',
          );
      }
    }
    expect(outcomes).toHaveLength(Object.keys(CASES).length * 4);
  });

  it('takes an API token instead of a session (no CSRF token: a browser never sends it on its own)', async () => {
    const authorization = `Bearer ${TOKEN}`;
    expect((await fetch(`${base}/api/alerts`, { headers: { authorization } })).status).toBe(200);
    const change = await fetch(`${base}/api/alerts/${alertId}/workflow`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'from the token' }),
    });
    expect(change.status).toBe(200);
    const detail = (await (
      await fetch(`${base}/api/alerts/${alertId}`, { headers: { authorization } })
    ).json()) as {
      history: Array<{ user: string; change: { note?: string } }>;
    };
    expect(
      detail.history.some((entry) => entry.user === 'ci-bot' && entry.change.note === 'from the token'),
    ).toBe(true);
    const admin = await fetch(`${base}/api/login-links`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'x', role: 'admin' }),
    });
    expect(admin.status).toBe(403);
    expect(
      (await fetch(`${base}/api/alerts`, { headers: { authorization: 'Bearer cst_wrong' } })).status,
    ).toBe(401);
  });

  it("refuses a state-changing request without the CSRF token, with another session's, or from another origin", async () => {
    const responderSession = await login('responder');
    const other = await login('responder');
    const change = (headers: Record<string, string>) =>
      fetch(`${base}/api/alerts/${alertId}/workflow`, {
        method: 'POST',
        headers: { cookie: responderSession.cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ status: 'closed' }),
      });
    for (const headers of <Array<Record<string, string>>>[
      {},
      { [CSRF_HEADER]: 'forged' },
      { [CSRF_HEADER]: other.csrf },
      { [CSRF_HEADER]: responderSession.csrf, origin: 'http://attacker.example' },
      { [CSRF_HEADER]: responderSession.csrf, 'sec-fetch-site': 'cross-site' },
    ]) {
      const refused = await change(headers);
      expect(refused.status, JSON.stringify(headers)).toBe(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('EDR_ERR_CSRF');
    }
    const form = await fetch(`${base}/api/alerts/${alertId}/workflow`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: responderSession.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ status: 'closed' }).toString(),
    });
    expect(form.status).toBe(403);
    const detail = await store.alertDetail(alertId);
    expect(detail?.workflow.status).not.toBe('closed');
    const accepted = await change({ [CSRF_HEADER]: responderSession.csrf, origin: base });
    expect(accepted.status).toBe(200);
  });

  it('refuses a tampered or forged session cookie', async () => {
    const viewer = await login('viewer');
    const value = viewer.cookie.slice('edr_console='.length);
    const [payload, mac] = value.split('.') as [string, string];
    const flipped = `${payload}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const promoted = `${Buffer.from(JSON.stringify({ ...decoded, role: 'admin' })).toString('base64url')}.${mac}`;
    for (const cookie of [flipped, promoted, `${payload}.`, 'garbage']) {
      const api = await fetch(`${base}/api/alerts`, { headers: { cookie: `edr_console=${cookie}` } });
      expect(api.status, cookie).toBe(401);
      const page = await fetch(`${base}/alerts`, {
        headers: { cookie: `edr_console=${cookie}` },
        redirect: 'manual',
      });
      expect(page.status).toBe(303);
    }
    expect((await fetch(`${base}/api/alerts`, { headers: { cookie: viewer.cookie } })).status).toBe(200);
  });

  it('ends a session at logout and takes a login link once', async () => {
    const path = built.loginPath('once', 'viewer');
    const first = await fetch(`${base}${path}`, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect((await fetch(`${base}${path}`, { redirect: 'manual' })).status).toBe(401);
    const session = { cookie: sessionCookie(first), csrf: '' };
    session.csrf = csrfFrom(
      await (await fetch(`${base}/alerts`, { headers: { cookie: session.cookie } })).text(),
    );
    const out = await fetch(`${base}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: session.cookie, [CSRF_HEADER]: session.csrf },
    });
    expect(out.status).toBe(303);
    expect((await fetch(`${base}/api/alerts`, { headers: { cookie: session.cookie } })).status).toBe(401);
    const wrong = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user: VIEWER.name, password: 'wrong' }).toString(),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });

  it('sets the session cookie HttpOnly and SameSite=Strict, and every answer carries the strict CSP', async () => {
    const answer = await fetch(`${base}${built.loginPath('flags', 'viewer')}`, { redirect: 'manual' });
    const cookie = answer.headers.get('set-cookie') ?? '';
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    for (const path of ['/login', '/static/console.js', '/nope']) {
      const csp = (await fetch(`${base}${path}`)).headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
    }
  });

  it('renders hostile event fields as text: no markup from telemetry reaches a page', async () => {
    const { cookie } = await login('viewer');
    const detail = await store.alertDetail(hostileAlertId);
    const { agentId, sessionId } = detail!.alert;
    const pages = [
      `/alerts/${hostileAlertId}`,
      `/timeline?${new URLSearchParams({ agent: agentId, session: sessionId })}`,
      `/agent?${new URLSearchParams({ id: agentId })}`,
      '/alerts',
    ];
    for (const path of pages) {
      const html = await (await fetch(`${base}${path}`, { headers: { cookie } })).text();
      expect(html, path).not.toMatch(/<script>alert|<img src=x|<svg onload|<b>x<\/b>/);
      expect(html).toContain('agent-&lt;script&gt;alert(0)&lt;/script&gt;');
      // Our one script tag, and no other.
      expect(html.match(/<script/g)).toHaveLength(1);
    }
    const timeline = await (
      await fetch(`${base}/timeline?${new URLSearchParams({ agent: agentId, session: sessionId })}`, {
        headers: { cookie },
      })
    ).text();
    expect(timeline).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(timeline).toContain('/home/x/.ssh/&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(timeline).not.toContain('href="javascript:');
  });
});

describe('console workflow and response through the API', () => {
  const authorization = `Bearer ${TOKEN}`;
  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('changes every alert a filter selects, each change in its own history', async () => {
    const filter = { ruleId: ['CREDENTIAL_EXFILTRATION'] };
    const matching = await store.countAlerts(filter);
    expect(matching).toBeGreaterThanOrEqual(2);
    const answer = await post('/api/alerts/bulk', {
      filter,
      change: { assignee: 'triage-team', note: 'bulk' },
    });
    expect(await answer.json()).toEqual({ updated: matching, truncated: false });
    const assigned = await store.countAlerts({ ...filter, assignee: ['triage-team'] });
    expect(assigned).toBe(matching);
    const detail = await store.alertDetail(hostileAlertId);
    expect(detail?.history.at(-1)).toMatchObject({
      user: 'ci-bot',
      change: { assignee: 'triage-team', note: 'bulk' },
    });
    const refused = await post('/api/alerts/bulk', { filter, change: {} });
    expect(refused.status).toBe(400);
  });

  it('sends a manual action once per alert and action, and refuses one with no webhook target', async () => {
    const before = receiver.requests.length;
    const first = await post(`/api/alerts/${hostileAlertId}/respond`, { action: 'terminate_session' });
    expect(first.status).toBe(202);
    await expect
      .poll(
        async () =>
          (await store.alertDetail(hostileAlertId))?.actions.find((action) => action.origin === 'manual')
            ?.status,
        {
          timeout: 30_000,
        },
      )
      .toBe('delivered');
    const again = await post(`/api/alerts/${hostileAlertId}/respond`, { action: 'terminate_session' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { repeated: boolean }).repeated).toBe(true);
    const sent = receiver.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers['idempotency-key']).toBe(`${hostileAlertId}:terminate_session`);
    const body = JSON.parse(sent[0]!.body.toString('utf8')) as {
      alert: { enrichment: { manualResponse: { user: string } } };
    };
    expect(body.alert.enrichment.manualResponse.user).toBe('ci-bot');
    const unconfigured = await post(`/api/alerts/${hostileAlertId}/respond`, { action: 'quarantine_agent' });
    expect(unconfigured.status).toBe(409);
    expect(((await unconfigured.json()) as { error: { code: string } }).error.code).toBe(
      'EDR_ERR_ACTION_UNAVAILABLE',
    );
  });
});
