import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPipeline, LocalPipelineOptions } from '../../../cli/lib/local-pipeline.ts';
import { packagePath } from '../../../core/package-path.ts';
import {
  createElasticsearchClient,
  ElasticsearchSinkConfigSchema,
  WebhookSinkConfigSchema,
} from '../../../sinks/index.ts';
import {
  dropIndexPrefix,
  requireElasticsearchUrl,
  uniqueIndexPrefix,
} from '../../../test/support/elasticsearch.ts';
import { ScriptedHttpServer } from '../../../test/support/http-server.ts';
import { startQuietPipeline } from '../../../test/support/local-pipelines.ts';
import {
  type ConsoleStore,
  createConsoleStore,
  type ResponseActionRecord,
  SqliteConsoleStore,
} from '../../store/index.ts';
import { ConsoleSettingsSchema } from '../config.ts';
import { type RunningConsole, startConsole } from '../serve.ts';
import { sendEvents, sessionCookie, upstreamEvents, webhookSecret } from './support.ts';

/**
 * Polls until `ready` holds for what `read` returns. A read that throws counts as not yet: Elasticsearch
 * answers no_shard_available_action_exception while the sink's first daily index is being created.
 */
async function eventually<T>(read: () => Promise<T>, ready: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    let last: unknown;
    try {
      const value = await read();
      if (ready(value)) return value;
      last = value;
    } catch (error) {
      last = String(error);
    }
    if (Date.now() > deadline) throw new Error(`${what} after 30 s: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Deployment {
  label: string;
  /** The pipeline's extra sinks and the console to serve over what they wrote (the pipeline's own: SQLite). */
  prepare(): { extraSinks?: NonNullable<LocalPipelineOptions['extraSinks']> };
  open(
    pipeline: LocalPipeline,
    dataDir: string,
  ): Promise<{ console: RunningConsole; store: ConsoleStore; close(): Promise<void> }>;
}

/** `start`: the pipeline's SQLite sink and the console it serves. */
const sqlite: Deployment = {
  label: 'start: SQLite',
  prepare: () => ({}),
  async open(pipeline, dataDir) {
    const store = new SqliteConsoleStore({ path: join(dataDir, 'console.db') });
    await store.start();
    return { console: pipeline.console!, store, close: () => store.close() };
  },
};

/** The full stack: the pipeline's Elasticsearch sink and the `console` command's wiring over its indices. */
function elasticsearch(): Deployment {
  const node = requireElasticsearchUrl();
  const prefix = uniqueIndexPrefix('console-reports');
  return {
    label: 'full stack: Elasticsearch',
    prepare: () => ({
      extraSinks: [
        { type: 'elasticsearch', node, indexPrefix: prefix, refresh: true, templates: { replicas: 0 } },
      ],
    }),
    async open() {
      const settings = ConsoleSettingsSchema.parse({
        logLevel: 'silent',
        store: { type: 'elasticsearch', node, indexPrefix: prefix, replicas: 0 },
      });
      const client = createElasticsearchClient(
        ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node }),
      );
      const store = createConsoleStore(settings.store, { elasticsearchClient: client });
      const running = await startConsole(settings, {
        store: createConsoleStore(settings.store, { elasticsearchClient: client }),
        rulePaths: [packagePath('rules')],
        webhooks: [],
        listen: { host: '127.0.0.1', port: 0 },
      });
      await store.start();
      return {
        console: running,
        store,
        async close() {
          await running.stop();
          await store.close();
          await dropIndexPrefix(client, prefix);
          await client.close();
        },
      };
    },
  };
}

/**
 * What the processor reports reaches the console, in `start` and in the full stack: the rule's own response
 * webhooks (sent by the processor, not by a console user) end up on the alert detail with how they ended, one
 * receiver taking terminate_session and another answering 500 until the retries are spent; and the rules page
 * shows the alerts a rule's suppression swallowed.
 */
describe.each([sqlite, elasticsearch()])('processor reports on the console pages ($label)', (deployment) => {
  let dataDir: string;
  let pipeline: LocalPipeline;
  let opened: Awaited<ReturnType<Deployment['open']>>;
  let store: ConsoleStore;
  let accepting: ScriptedHttpServer;
  let failing: ScriptedHttpServer;
  let cookie: string;

  const alertsOf = async (ruleId: string) =>
    (
      await eventually(
        () => store.listAlerts({ filter: { ruleId: [ruleId] }, sort: 'timestamp', order: 'desc', limit: 50 }),
        (found) => found.items.length > 0,
        `no ${ruleId} alert`,
      )
    ).items;
  const page = async (path: string): Promise<string> => {
    const response = await fetch(`${opened.console.url}${path}`, { headers: { cookie } });
    expect(response.status).toBe(200);
    return response.text();
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'edr-console-automated-'));
    accepting = await ScriptedHttpServer.start(() => ({ status: 202 }));
    failing = await ScriptedHttpServer.start(() => ({ status: 500, body: 'control API down' }));
    const secret = webhookSecret();
    const target = (server: ScriptedHttpServer) => ({
      terminate_session: { url: `${server.url}/sessions/{sessionId}/terminate` },
    });
    pipeline = await startQuietPipeline(dataDir, {
      reportIntervalMs: 200,
      console: { port: 0, settings: ConsoleSettingsSchema.parse({ logLevel: 'silent' }) },
      webhooks: [
        WebhookSinkConfigSchema.parse({
          type: 'webhook',
          name: 'control',
          secret,
          actions: target(accepting),
        }),
        WebhookSinkConfigSchema.parse({
          type: 'webhook',
          name: 'backup',
          secret,
          actions: target(failing),
          delivery: { retry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 20 } },
          circuitBreaker: { failureThreshold: 100 },
        }),
      ],
      ...deployment.prepare(),
    });
    opened = await deployment.open(pipeline, dataDir);
    store = opened.store;
    const login = await fetch(opened.console.loginUrl('ana', 'viewer'), { redirect: 'manual' });
    cookie = sessionCookie(login);
  }, 120_000);

  afterAll(async () => {
    await opened?.close();
    await pipeline?.stop();
    await accepting?.close();
    await failing?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the delivered webhook as delivered and the one refused until retries ran out as failed', async () => {
    await sendEvents(pipeline, upstreamEvents());
    const [record] = await alertsOf('CREDENTIAL_EXFILTRATION');
    const alertId = record!.alert.alertId;
    const terminations = async (): Promise<ResponseActionRecord[]> =>
      ((await store.alertDetail(alertId))?.actions ?? []).filter(
        (action) => action.action === 'terminate_session',
      );
    const [backup, control] = await eventually(
      terminations,
      (actions) => actions.length === 2 && actions.every((action) => action.status !== 'requested'),
      'terminate_session not reported by both routes',
    );
    expect(control).toMatchObject({
      origin: 'rule',
      status: 'delivered',
      attempts: 1,
      httpStatus: 202,
      detail: 'control.terminate_session: HTTP 202',
    });
    expect(backup).toMatchObject({ origin: 'rule', status: 'failed', attempts: 3, httpStatus: 500 });
    expect(backup?.detail).toMatch(
      /^backup\.terminate_session: dead-lettered \(retries_exhausted\): retries exhausted after 3 attempts: HTTP 500/,
    );
    // What the receivers saw agrees: one request taken, three refused, for this alert's session.
    const session = `/sessions/${record!.alert.sessionId}/terminate`;
    expect(accepting.requests.filter((request) => request.path === session)).toHaveLength(1);
    expect(failing.requests.filter((request) => request.path === session)).toHaveLength(3);
    expect(Date.parse(control!.updatedAt)).toBeGreaterThanOrEqual(Date.parse(control!.requestedAt));
    // The detail page shows both rows as the store has them.
    const detail = await page(`/alerts/${encodeURIComponent(alertId)}`);
    const rows = [
      ...detail.matchAll(
        /<tr class="action" data-action="terminate_session" data-status="(\w+)">(.*?)<\/tr>/g,
      ),
    ];
    expect(
      rows.map(([, status, cells]) => [
        status,
        /class="attempts">(\d+)</.exec(cells!)?.[1],
        /class="http-status">(\d+)</.exec(cells!)?.[1],
      ]),
    ).toEqual([
      ['failed', '3', '500'],
      ['delivered', '1', '202'],
    ]);
  }, 60_000);

  it('shows on the rules page the repeats a rule suppressed', async () => {
    // The same agent credential store read three times in one session: one alert, two suppressed (10m window).
    const reads = [0, 5, 10].map((second) =>
      JSON.stringify({
        eventId: `evt-cred-${second}`,
        eventType: 'file_read',
        timestamp: `2026-02-04T00:00:${String(second).padStart(2, '0')}Z`,
        sessionId: 'sess-cred',
        data: { type: 'file', path: '/home/dev/.claude/.credentials.json', operation: 'read' },
        metadata: { source: 'cli', agentId: 'agent-cred' },
      }),
    );
    await sendEvents(pipeline, reads.join('\n'));
    await alertsOf('AGENT_CREDENTIAL_STORE_READ');
    const rule = async () =>
      (await page('/rules')).match(
        /<tr id="rule-AGENT_CREDENTIAL_STORE_READ".*?<td>(\d+)<\/td><td class="suppressed">(\d+)<\/td>/s,
      );
    const row = await eventually(rule, (match) => match?.[2] === '2', 'two suppressed not shown');
    expect(row?.[1]).toBe('1');
  }, 60_000);
});
