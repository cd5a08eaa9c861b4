import type { TransportLogger } from '../transport/index.ts';
import type { SetupConfig } from './config.ts';
import {
  describeNode,
  type ElasticsearchTarget,
  elasticsearchTarget,
  setupElasticsearch,
} from './elasticsearch.ts';
import { SetupError } from './errors.ts';
import { importSavedObjects, type KibanaAuth, type KibanaOptions, waitForKibana } from './kibana.ts';
import { defaultDashboardsDir, readSavedObjects } from './saved-objects.ts';
import { setupStreams } from './topics.ts';

export interface SetupOptions {
  skipTemplates?: boolean;
  skipKibana?: boolean;
  skipTopics?: boolean;
  /** Folder of the saved-object NDJSON files; default: the shipped dashboards/. */
  dashboardsDir?: string;
}

export interface SetupDeps {
  /** One progress line at a time. */
  log: (line: string) => void;
  fetch?: typeof fetch;
  transportLogger?: TransportLogger;
}

/**
 * Index templates, then Kibana data views and dashboards, then broker topics. Every step is idempotent, so
 * running setup again (every `docker compose up`) only brings things up to date. Throws SetupError.
 */
export async function runSetup(config: SetupConfig, options: SetupOptions, deps: SetupDeps): Promise<void> {
  const target = elasticsearchTarget(config);
  if (options.skipTemplates) deps.log('elasticsearch: skipped (--skip-templates)');
  else await templatesStep(config, target, deps);
  if (options.skipKibana) deps.log('kibana: skipped (--skip-kibana)');
  else await kibanaStep(config, target, options.dashboardsDir ?? defaultDashboardsDir(), deps);
  if (options.skipTopics) deps.log('transport: skipped (--skip-topics)');
  else await streamsStep(config, deps);
}

async function templatesStep(
  config: SetupConfig,
  target: ElasticsearchTarget | undefined,
  deps: SetupDeps,
): Promise<void> {
  if (!target)
    throw new SetupError(
      'elasticsearch',
      'no Elasticsearch to install the index templates in: configure an elasticsearch sink, set ' +
        'setup.elasticsearchUrl (CLAWDSTRIKE_EDR_SETUP__ELASTICSEARCH_URL) or pass --elasticsearch URL; ' +
        'or skip this step with --skip-templates',
    );
  const timeoutMs = config.setup.waitTimeoutMs;
  deps.log(`elasticsearch: waiting for ${describeNode(target.connection.node)} (up to ${timeoutMs / 1000}s)`);
  await setupElasticsearch(target, { timeoutMs, log: deps.log });
}

async function kibanaStep(
  config: SetupConfig,
  target: ElasticsearchTarget | undefined,
  dashboardsDir: string,
  deps: SetupDeps,
): Promise<void> {
  // Read the files first: a broken file should fail before any waiting.
  const bundle = readSavedObjects(dashboardsDir, target?.indexPrefix ?? 'clawdstrike');
  const auth: KibanaAuth | undefined = config.setup.kibanaAuth ?? target?.connection.auth;
  const kibana: KibanaOptions = { url: config.setup.kibanaUrl };
  if (auth) kibana.auth = auth;
  if (deps.fetch) kibana.fetch = deps.fetch;
  const timeoutMs = config.setup.waitTimeoutMs;
  deps.log(`kibana: waiting for ${kibana.url} to serve requests (up to ${timeoutMs / 1000}s)`);
  const status = await waitForKibana(kibana, { timeoutMs });
  deps.log(`kibana: ${kibana.url} is ${status.level} (version ${status.version})`);
  const summary = await importSavedObjects(kibana, bundle);
  const kinds = Object.entries(summary.byType)
    .map(([type, count]) => `${count} ${type}`)
    .join(', ');
  deps.log(
    `kibana: imported ${summary.successCount} saved objects (${kinds}) from ${bundle.files.join(', ')}`,
  );
}

async function streamsStep(config: SetupConfig, deps: SetupDeps): Promise<void> {
  deps.log(`transport: preparing ${config.transport.kind} streams`);
  const options: Parameters<typeof setupStreams>[1] = { timeoutMs: config.setup.waitTimeoutMs };
  if (deps.transportLogger) options.logger = deps.transportLogger;
  deps.log(`transport: ${await setupStreams(config.transport, options)}`);
}
