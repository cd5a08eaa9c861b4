import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../engine/alert.ts';
import { OVERLAY_VERSION, type PolicyOverlay, renderOverlayYaml } from '../../engine/index.ts';
import { GithubReceiver } from '../../test/support/github-receiver.ts';
import { ScriptedHttpServer } from '../../test/support/http-server.ts';
import { JiraReceiver } from '../../test/support/jira-receiver.ts';
import { capturingLogger, removeDir, tempDir, useCleanup } from '../../test/support/pipeline.ts';
import { makeAlert } from '../../test/support/sink-items.ts';
import { MemoryDeadLetterWriter } from '../driver/dead-letter.ts';
import { SinkRouter } from '../router.ts';
import { TicketSinkConfigSchema } from './config.ts';
import { groupOf } from './group.ts';
import { ticketRoutes } from './sink.ts';

const TOKEN = 'ghp_TestToken0123456789abcdefABCDEF';
const JIRA_TOKEN = 'ATATT3xFfGF0-jira-test-token';
const SUGGESTION: PolicyOverlay = {
  version: OVERLAY_VERSION,
  extends: 'default',
  merge_strategy: 'deep_merge',
  guards: { egress_allowlist: { additional_block: ['drop.exfil.example'] } },
};

describe('ticket sink (against GitHub and Jira receivers)', () => {
  const defer = useCleanup();
  const routers: SinkRouter[] = [];
  afterEach(async () => {
    for (const router of routers.splice(0)) await router.close();
  });

  async function directory(): Promise<string> {
    const path = await tempDir('tickets');
    defer(() => removeDir(path));
    return path;
  }

  async function github(): Promise<GithubReceiver> {
    const receiver = await GithubReceiver.start({ owner: 'acme', repo: 'security', token: TOKEN });
    defer(() => receiver.close());
    return receiver;
  }

  function router(
    target: Record<string, unknown>,
    stateFile: string,
    overrides: Record<string, unknown> = {},
  ) {
    const config = TicketSinkConfigSchema.parse({
      type: 'ticket',
      minSeverity: 'info',
      stateFile,
      target,
      groupBy: ['ruleId', 'agentId', 'sessionId'],
      delivery: { retry: { attempts: 6, initialDelayMs: 5, maxDelayMs: 5_000 } },
      ...overrides,
    });
    const deadLetters = new MemoryDeadLetterWriter();
    const { log, lines } = capturingLogger('info');
    const built = new SinkRouter(ticketRoutes(config, { env: {} }), { deadLetters, log });
    routers.push(built);
    return { router: built, deadLetters, lines };
  }

  const githubTarget = (receiver: GithubReceiver, mutationIntervalMs = 0) => ({
    kind: 'github',
    apiUrl: receiver.url,
    owner: 'acme',
    repo: 'security',
    token: TOKEN,
    lookupSettleMs: 0,
    mutationIntervalMs,
  });

  const groupLabel = (alert: Alert) => groupOf(alert, ['ruleId', 'agentId', 'sessionId']).label;

  it('opens one GitHub issue per alert group and comments for each later alert of the group', async () => {
    const receiver = await github();
    const { router: sinks } = router(githubTarget(receiver, 1_000), join(await directory(), 'state.jsonl'));
    await sinks.start();
    const first = makeAlert({ sessionId: 'sess-a' });
    const second = makeAlert({ sessionId: 'sess-a' });
    const other = makeAlert({ sessionId: 'sess-b' });

    const report = await sinks.deliver({ alerts: [first, other, second] });

    expect(report).toMatchObject({ written: 3, deadLettered: 0 });
    expect(receiver.refusals).toEqual([]);
    expect(receiver.issues).toHaveLength(2);
    const [issue] = receiver.issuesWithLabel(groupLabel(first));
    expect(issue!.labels).toEqual(['clawdstrike-edr', groupLabel(first)]);
    expect(issue!.comments).toHaveLength(1);
    expect(issue!.comments[0]!.body).toContain(second.alertId);
    expect(receiver.issuesWithLabel(groupLabel(other))[0]!.comments).toHaveLength(0);
    expect(issue!.title).toBe('[critical] Credential read followed by egress: agent-7');
    expect(issue!.body).toContain(`<!-- clawdstrike-edr alert ${first.alertId} -->`);
    // GitHub asks for a second between mutating requests.
    const posts = receiver.requests
      .filter((request) => request.method === 'POST')
      .map((request) => request.at);
    expect(posts).toHaveLength(3);
    expect(Math.min(posts[1]! - posts[0]!, posts[2]! - posts[1]!)).toBeGreaterThanOrEqual(950);
    const create = receiver.requests.find((request) => request.method === 'POST')!;
    expect(create.headers).toMatchObject({
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${TOKEN}`,
      'x-github-api-version': '2022-11-28',
      'user-agent': 'clawdstrike-edr',
    });
  });

  it('opens no second issue for a redelivered alert: not in the same run, nor after a restart, nor without the state file', async () => {
    const receiver = await github();
    const folder = await directory();
    const alert = makeAlert();
    const { router: firstRun } = router(githubTarget(receiver), join(folder, 'state.jsonl'));
    await firstRun.start();
    await firstRun.deliver({ alerts: [alert] });
    expect(await firstRun.deliver({ alerts: [alert] })).toMatchObject({ duplicates: 1 });
    await firstRun.close();
    routers.splice(0);

    const { router: restarted } = router(githubTarget(receiver), join(folder, 'state.jsonl'));
    await restarted.start();
    expect(await restarted.deliver({ alerts: [alert] })).toMatchObject({ duplicates: 1 });
    const posts = receiver.requests.filter((request) => request.method === 'POST').length;

    // A new host, no state file: the issue is found by its group label, and the alert that opened it is named on it.
    const { router: fresh } = router(githubTarget(receiver), join(folder, 'other-state.jsonl'));
    await fresh.start();
    expect(await fresh.deliver({ alerts: [alert] })).toMatchObject({ duplicates: 1 });
    const later = makeAlert();
    expect(await fresh.deliver({ alerts: [later, later] })).toMatchObject({ written: 1, duplicates: 1 });

    expect(receiver.refusals).toEqual([]);
    expect(receiver.issues).toHaveLength(1);
    expect(receiver.issues[0]!.comments.map((comment) => comment.body.split('\n')[0])).toEqual([
      `<!-- clawdstrike-edr alert ${later.alertId} -->`,
    ]);
    expect(posts).toBe(1);
  });

  it('waits out GitHub rate limits as documented: retry-after, x-ratelimit-reset, then creates once', async () => {
    const receiver = await github();
    receiver.waitSeconds = 1;
    receiver.failNext('secondary-rate-limit', 'primary-rate-limit', 'too-many-requests', 'server-error');
    const { router: sinks } = router(githubTarget(receiver), join(await directory(), 'state.jsonl'));
    await sinks.start();

    const report = await sinks.deliver({ alerts: [makeAlert()] });

    expect(report).toMatchObject({ written: 1, deadLettered: 0 });
    expect(receiver.issues).toHaveLength(1);
    const times = receiver.requests.map((request) => request.at);
    // Each rate-limited answer asked for a second's pause (the reset is in whole epoch seconds).
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    expect(times[3]! - times[2]!).toBeGreaterThanOrEqual(950);
  });

  it('gives up on bad credentials at once (dead letter, no retries) and never logs or dead-letters the token', async () => {
    const receiver = await github();
    receiver.failNext('bad-credentials');
    const {
      router: sinks,
      deadLetters,
      lines,
    } = router(githubTarget(receiver), join(await directory(), 'state.jsonl'));
    await sinks.start();

    const report = await sinks.deliver({ alerts: [makeAlert()] });

    expect(report).toMatchObject({ written: 0, deadLettered: 1 });
    expect(deadLetters.letters[0]).toMatchObject({ code: 'blocked', attempts: 1 });
    expect(deadLetters.letters[0]!.reason).toContain('HTTP 401');
    const everything = JSON.stringify({ letters: deadLetters.letters, lines, stats: sinks.stats() });
    expect(everything).not.toContain(TOKEN);
  });

  it('keeps the token out of errors even when a proxy echoes it back, and out of config dumps', async () => {
    const echo = await ScriptedHttpServer.start((request) => ({
      status: 500,
      body: `upstream failed for ${String(request.headers.authorization)}`,
    }));
    defer(() => echo.close());
    const target = { kind: 'github', apiUrl: echo.url, owner: 'acme', repo: 'security', token: TOKEN };
    const {
      router: sinks,
      deadLetters,
      lines,
    } = router(target, join(await directory(), 'state.jsonl'), {
      delivery: { retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 } },
    });
    await sinks.start();

    await sinks.deliver({ alerts: [makeAlert()] });

    expect(deadLetters.letters[0]!.reason).toContain('upstream failed for Bearer [redacted]');
    expect(JSON.stringify({ letters: deadLetters.letters, lines })).not.toContain(TOKEN);
    const config = TicketSinkConfigSchema.parse({ type: 'ticket', target });
    expect(JSON.stringify(config)).not.toContain(TOKEN);
    expect(inspect(config, { depth: 10 })).not.toContain(TOKEN);
    expect(`${config.target.kind === 'github' ? config.target.token : ''}`).toBe('[redacted]');
  });

  it('reads the token from the environment and refuses to start without one', async () => {
    const receiver = await github();
    const config = TicketSinkConfigSchema.parse({
      type: 'ticket',
      stateFile: join(await directory(), 'state.jsonl'),
      target: {
        kind: 'github',
        apiUrl: receiver.url,
        owner: 'acme',
        repo: 'security',
        tokenEnv: 'EDR_TEST_GH',
      },
    });
    expect(() => ticketRoutes(config, { env: {} })).toThrow(/EDR_TEST_GH is not set/);
    const sinks = new SinkRouter(ticketRoutes(config, { env: { EDR_TEST_GH: TOKEN } }), {
      deadLetters: new MemoryDeadLetterWriter(),
    });
    routers.push(sinks);
    await sinks.start();
    expect(await sinks.deliver({ alerts: [makeAlert()] })).toMatchObject({ written: 1 });
  });

  it('caps the comments on one ticket: later alerts of the group are counted, not posted', async () => {
    const receiver = await github();
    const { router: sinks } = router(githubTarget(receiver), join(await directory(), 'state.jsonl'), {
      maxCommentsPerTicket: 2,
    });
    await sinks.start();
    const alerts = Array.from({ length: 6 }, () => makeAlert());

    expect(await sinks.deliver({ alerts })).toMatchObject({ written: 6 });

    expect(receiver.issues).toHaveLength(1);
    expect(receiver.issues[0]!.comments).toHaveLength(2);
    expect(sinks.stats().find((route) => route.name === 'ticket')?.sink).toMatchObject({
      created: 1,
      commented: 2,
      commentsCapped: 3,
    });
  });

  it('the receivers refuse requests that break the documented shape', async () => {
    const receiver = await github();
    const issues = `${receiver.url}/repos/acme/security/issues`;
    const headers = {
      authorization: `Bearer ${TOKEN}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'test',
      'content-type': 'application/json',
    };
    const post = (extra: Record<string, string>, body: unknown) =>
      fetch(issues, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
    expect((await post({ accept: 'application/json' }, { title: 't' })).status).toBe(415);
    expect((await post({ 'x-github-api-version': '2021-01-01' }, { title: 't' })).status).toBe(400);
    expect((await post({}, { body: 'no title' })).status).toBe(422);
    expect((await post({}, { title: 't', body: 'x'.repeat(65_537) })).status).toBe(422);
    expect((await post({}, { title: 't', labels: ['x'.repeat(51)] })).status).toBe(422);
    expect((await post({ authorization: 'Bearer wrong' }, { title: 't' })).status).toBe(401);
    expect(receiver.refusals).toHaveLength(5);
    expect(receiver.issues).toHaveLength(0);

    const jiraReceiver = await JiraReceiver.start({ projectKey: 'SEC', email: 'a@b.c', token: JIRA_TOKEN });
    defer(() => jiraReceiver.close());
    const create = (description: unknown, summary = 'ok') =>
      fetch(`${jiraReceiver.url}/rest/api/3/issue`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`a@b.c:${JIRA_TOKEN}`).toString('base64')}`,
          accept: 'application/json',
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          fields: { project: { key: 'SEC' }, issuetype: { name: 'Task' }, summary, description },
        }),
      });
    expect((await create('plain text, not ADF')).status).toBe(400);
    expect((await create({ type: 'doc', version: 2, content: [] })).status).toBe(400);
    const markedCode = {
      type: 'codeBlock',
      content: [{ type: 'text', text: 'x', marks: [{ type: 'strong' }] }],
    };
    expect((await create({ type: 'doc', version: 1, content: [markedCode] })).status).toBe(400);
    const emptyText = { type: 'paragraph', content: [{ type: 'text', text: '' }] };
    expect((await create({ type: 'doc', version: 1, content: [emptyText] })).status).toBe(400);
    expect((await create({ type: 'doc', version: 1, content: [] }, 'two\nlines')).status).toBe(400);
    expect((await create({ type: 'doc', version: 1, content: [] })).status).toBe(201);
    expect(jiraReceiver.refusals).toHaveLength(5);
  });

  describe('Jira Cloud', () => {
    async function jira(): Promise<JiraReceiver> {
      const receiver = await JiraReceiver.start({
        projectKey: 'SEC',
        email: 'soc@example.com',
        token: JIRA_TOKEN,
      });
      defer(() => receiver.close());
      return receiver;
    }
    const jiraTarget = (receiver: JiraReceiver, settle = 0) => ({
      kind: 'jira',
      baseUrl: receiver.url,
      email: 'soc@example.com',
      apiToken: JIRA_TOKEN,
      projectKey: 'SEC',
      lookupSettleMs: settle,
    });

    it('creates one issue per group with an ADF description, comments in ADF, and waits out a 429', async () => {
      const receiver = await jira();
      receiver.failNext('rate-limited', 'unavailable');
      const { router: sinks } = router(jiraTarget(receiver), join(await directory(), 'state.jsonl'));
      await sinks.start();
      const first = makeAlert({ sessionId: 'sess-j', response: { policySuggestion: SUGGESTION } });
      const second = makeAlert({ sessionId: 'sess-j' });

      const report = await sinks.deliver({ alerts: [first, second, first] });

      expect(report).toMatchObject({ written: 2, duplicates: 1, deadLettered: 0 });
      expect(receiver.refusals).toEqual([]);
      expect(receiver.issues).toHaveLength(1);
      const [issue] = receiver.issues;
      expect(issue!.labels).toEqual(['clawdstrike-edr', groupLabel(first)]);
      expect(issue!.comments).toHaveLength(1);
      expect(issue!.description).toMatchObject({
        type: 'doc',
        version: 1,
        content: expect.arrayContaining([
          { type: 'paragraph', content: [{ type: 'text', text: `clawdstrike-edr alert ${first.alertId}` }] },
        ]),
      });
      expect(JSON.stringify(issue!.description)).toContain(
        JSON.stringify({
          type: 'codeBlock',
          attrs: { language: 'yaml' },
          content: [{ type: 'text', text: renderOverlayYaml(SUGGESTION) }],
        }),
      );
      const times = receiver.requests.map((request) => request.at);
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    });

    it('does not open a second issue after a lost create while JQL search still lags', async () => {
      const receiver = await jira();
      const folder = await directory();
      const alert = makeAlert();
      let created!: () => void;
      const arrived = new Promise<void>((resolve) => {
        created = resolve;
      });
      receiver.holdCreates(() => created());
      receiver.searchLagMs = 1_500;
      const { router: lost } = router(jiraTarget(receiver, 3_000), join(folder, 'state.jsonl'), {
        timeoutMs: 300,
        delivery: { retry: { attempts: 1 } },
      });
      await lost.start();
      await Promise.all([lost.deliver({ alerts: [alert] }), arrived]);
      receiver.release();
      await lost.close();
      routers.splice(0);

      const { router: again } = router(jiraTarget(receiver, 3_000), join(folder, 'state.jsonl'));
      await again.start();
      expect(await again.deliver({ alerts: [alert] })).toMatchObject({ duplicates: 1 });
      expect(receiver.issues).toHaveLength(1);
      expect(receiver.refusals).toEqual([]);
    });
  });

  it('generic template: JSON-escaped placeholders, one create per group, comments with the ticket id', async () => {
    const bodies: Array<{ path: string; body: unknown; key: string }> = [];
    const server = await ScriptedHttpServer.start((request) => {
      bodies.push({
        path: request.path,
        body: JSON.parse(request.body.toString('utf8')),
        key: String(request.headers['idempotency-key']),
      });
      return request.path === '/tickets'
        ? { status: 201, body: JSON.stringify({ ticket: { id: 77 } }) }
        : { status: 201 };
    });
    defer(() => server.close());
    const target = {
      kind: 'template',
      create: {
        url: `${server.url}/tickets`,
        secretHeaders: { authorization: 'EDR_TEST_TEMPLATE_AUTH' },
        body: {
          title: '{{title}}',
          text: 'Agent {{agentId}} said: {{summary}}',
          events: '{{eventIds}}',
          risk: '{{riskScore}}',
        },
      },
      comment: { url: `${server.url}/tickets/{{ticket.id}}/notes`, body: { note: '{{summary}}' } },
      ticketIdPointer: '/ticket/id',
    };
    const config = TicketSinkConfigSchema.parse({
      type: 'ticket',
      minSeverity: 'info',
      stateFile: join(await directory(), 's.jsonl'),
      target,
    });
    const sinks = new SinkRouter(ticketRoutes(config, { env: { EDR_TEST_TEMPLATE_AUTH: 'Bearer t0k' } }), {
      deadLetters: new MemoryDeadLetterWriter(),
    });
    routers.push(sinks);
    await sinks.start();
    const hostile = 'x", "risk": 0, "y": "\n}{';
    const first = makeAlert({ summary: hostile });
    const second = makeAlert({ summary: 'second' });

    expect(await sinks.deliver({ alerts: [first, second] })).toMatchObject({ written: 2 });

    expect(bodies.map((each) => each.path)).toEqual(['/tickets', '/tickets/77/notes']);
    expect(bodies[0]!.body).toEqual({
      title: '[critical] Credential read followed by egress: agent-7',
      text: `Agent agent-7 said: ${hostile}`,
      events: ['evt-1', 'evt-2'],
      risk: 92,
    });
    expect(bodies[1]!.body).toEqual({ note: 'second' });
    expect(bodies[0]!.key).toMatch(/^edr-ticket-[0-9a-f]{16}$/);
    const state = await readFile(config.stateFile!, 'utf8');
    expect(state).not.toContain('t0k');
  });
});
