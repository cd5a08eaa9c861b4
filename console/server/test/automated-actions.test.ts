import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPipeline, startLocalPipeline } from '../../../cli/lib/local-pipeline.ts';
import { WebhookSinkConfigSchema } from '../../../sinks/index.ts';
import { ScriptedHttpServer } from '../../../test/support/http-server.ts';
import { type ResponseActionRecord, SqliteConsoleStore } from '../../store/index.ts';
import { ConsoleSettingsSchema } from '../config.ts';
import { sendEvents, sessionCookie, upstreamEvents, waitForAlerts, webhookSecret } from './support.ts';

/** Polls until `ready` holds for what `read` returns. */
async function eventually<T>(read: () => Promise<T>, ready: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (ready(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} after 30 s: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * What the processor reports reaches `start`'s console: the rule's own response webhooks (sent by the
 * processor, not by a console user) end up on the alert detail with how they ended, one receiver taking
 * terminate_session and another answering 500 until the retries are spent; and the rules page shows the
 * alerts a rule's suppression swallowed.
 */
describe('processor reports on the console pages (start: SQLite)', () => {
  let dataDir: string;
  let pipeline: LocalPipeline;
  let store: SqliteConsoleStore;
  let accepting: ScriptedHttpServer;
  let failing: ScriptedHttpServer;
  let cookie: string;

  const page = async (path: string): Promise<string> => {
    const response = await fetch(`${pipeline.console!.url}${path}`, { headers: { cookie } });
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
    pipeline = await startLocalPipeline({
      dataDir,
      host: '127.0.0.1',
      port: 0,
      metricsPort: 0,
      intel: [],
      assets: [],
      logLevel: 'silent',
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
    });
    store = new SqliteConsoleStore({ path: join(dataDir, 'console.db') });
    await store.start();
    const login = await fetch(pipeline.console!.loginUrl('ana', 'viewer'), { redirect: 'manual' });
    cookie = sessionCookie(login);
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await pipeline?.stop();
    await accepting?.close();
    await failing?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the delivered webhook as delivered and the one refused until retries ran out as failed', async () => {
    await sendEvents(pipeline, upstreamEvents());
    const [record] = await waitForAlerts(store, 'CREDENTIAL_EXFILTRATION');
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
    await waitForAlerts(store, 'AGENT_CREDENTIAL_STORE_READ');
    const rule = async () =>
      (await page('/rules')).match(
        /<tr id="rule-AGENT_CREDENTIAL_STORE_READ".*?<td>(\d+)<\/td><td class="suppressed">(\d+)<\/td>/s,
      );
    const row = await eventually(rule, (match) => match?.[2] === '2', 'two suppressed not shown');
    expect(row?.[1]).toBe('1');
  }, 60_000);
});
