import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { LocalPipeline } from '../../cli/lib/local-pipeline.ts';
import { ConsoleSettingsSchema } from '../../console/server/config.ts';
import { type RunningConsole, startConsole } from '../../console/server/serve.ts';
import { consoleAccess, webhookSecret } from '../../console/server/test/support.ts';
import { createConsoleStore } from '../../console/store/index.ts';
import { packagePath } from '../../core/package-path.ts';
import {
  createElasticsearchClient,
  ElasticsearchSinkConfigSchema,
  WebhookSinkConfigSchema,
} from '../../sinks/index.ts';
import { dropIndexPrefix, requireElasticsearchUrl, uniqueIndexPrefix } from '../support/elasticsearch.ts';
import { ScriptedHttpServer } from '../support/http-server.ts';
import { startQuietPipeline } from '../support/local-pipelines.ts';
import { type ConsoleTarget, triageScenario, USERS } from './scenario.ts';
import { artifactsDir, launchChromium } from './support.ts';

/**
 * The full-stack console (the `console` command's wiring, startConsole) over the real Elasticsearch of the
 * harness: the pipeline's Elasticsearch sink writes the indices it reads, under a prefix of this test.
 */
describe('triage console in a real browser, on Elasticsearch', () => {
  const node = requireElasticsearchUrl();
  const prefix = uniqueIndexPrefix('console-browser');
  const secret = webhookSecret();
  let client: Client;
  let browser: Browser;
  let receiver: ScriptedHttpServer;
  let pipeline: LocalPipeline;
  let running: RunningConsole;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'edr-browser-es-'));
    client = createElasticsearchClient(ElasticsearchSinkConfigSchema.parse({ type: 'elasticsearch', node }));
    receiver = await ScriptedHttpServer.start(() => ({ status: 204 }));
    const webhook = WebhookSinkConfigSchema.parse({
      type: 'webhook',
      secret,
      actions: {
        terminate_session: { url: `${receiver.url}/agents/{agentId}/sessions/{sessionId}/terminate` },
      },
    });
    pipeline = await startQuietPipeline(dataDir, {
      webhooks: [webhook],
      extraSinks: [
        { type: 'elasticsearch', node, indexPrefix: prefix, refresh: true, templates: { replicas: 0 } },
      ],
    });
    const settings = ConsoleSettingsSchema.parse({
      logLevel: 'silent',
      ...(await consoleAccess(Object.values(USERS))),
      store: { type: 'elasticsearch', node, indexPrefix: prefix, replicas: 0, pollIntervalMs: 250 },
    });
    [running, browser] = await Promise.all([
      startConsole(settings, {
        store: createConsoleStore(settings.store, { elasticsearchClient: client }),
        rulePaths: [packagePath('rules')],
        webhooks: [webhook],
        listen: { host: '127.0.0.1', port: 0 },
      }),
      launchChromium(),
    ]);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await running?.stop();
    await pipeline?.stop();
    await receiver?.close();
    if (client) {
      await dropIndexPrefix(client, prefix);
      await client.close();
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('logs in with the printed link, triages CREDENTIAL_EXFILTRATION, and enforces viewer and responder rights', async () => {
    const target: ConsoleTarget = {
      label: 'elasticsearch',
      consoleUrl: running.url,
      adminLoginUrl: running.loginUrl('admin', 'admin'),
      collectorUrl: pipeline.collectorUrl,
      apiKey: pipeline.apiKey,
      receiver,
      webhookSecret: secret,
      viewer: USERS.viewer,
      responder: USERS.responder,
      artifacts: artifactsDir('elasticsearch'),
    };
    await triageScenario(browser, target);
  }, 300_000);
});
