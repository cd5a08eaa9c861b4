import {
  createElasticsearchClient,
  type ElasticsearchSinkConfig,
  installTemplates,
  TEMPLATE_VERSION,
  type TemplateOptions,
} from '../sinks/index.ts';
import type { SetupConfig } from './config.ts';
import { errorText, SetupError } from './errors.ts';
import { waitFor } from './wait.ts';

type Connection = Parameters<typeof createElasticsearchClient>[0];

/** Where the templates go and under which prefix; the prefix also names the Kibana data views' patterns. */
export interface ElasticsearchTarget {
  connection: Connection;
  indexPrefix: string;
  templates: TemplateOptions;
}

const DEFAULT_PREFIX = 'clawdstrike';

/**
 * The first elasticsearch sink gives auth, TLS and the index prefix; `setup.elasticsearchUrl` (or
 * --elasticsearch) replaces only its URL. Several elasticsearch sinks each install their own templates when
 * they start (installTemplates: true), so setup prepares the first. Undefined when nothing names a cluster.
 */
export function elasticsearchTarget(config: SetupConfig): ElasticsearchTarget | undefined {
  const sink = config.sinks.sinks.find(
    (candidate): candidate is ElasticsearchSinkConfig => candidate.type === 'elasticsearch',
  );
  const node = config.setup.elasticsearchUrl ?? sink?.node;
  if (node === undefined) return undefined;
  return {
    connection: {
      node,
      auth: sink?.auth,
      tls: sink?.tls ?? { skipVerify: false },
      requestTimeoutMs: sink?.requestTimeoutMs ?? 30_000,
      compression: false,
    },
    indexPrefix: sink?.indexPrefix ?? DEFAULT_PREFIX,
    templates: sink ? { shards: sink.templates.shards, replicas: sink.templates.replicas } : {},
  };
}

export function describeNode(node: Connection['node']): string {
  return Array.isArray(node) ? node.join(', ') : node;
}

/** Waits for the cluster to answer (yellow or better), then puts both index templates (idempotent). */
export async function setupElasticsearch(
  target: ElasticsearchTarget,
  options: { timeoutMs: number; log: (line: string) => void },
): Promise<string[]> {
  const where = `Elasticsearch at ${describeNode(target.connection.node)}`;
  const client = createElasticsearchClient(target.connection);
  try {
    const cluster = await waitFor(
      'elasticsearch',
      where,
      async () => {
        try {
          const health = await client.cluster.health({ wait_for_status: 'yellow', timeout: '5s' });
          if (health.timed_out) throw new Error(`cluster health is ${health.status}`);
          return `cluster ${health.cluster_name}, ${health.status}`;
        } catch (error) {
          throw refusal(error, where) ?? error;
        }
      },
      { timeoutMs: options.timeoutMs },
    );
    options.log(`elasticsearch: ${describeNode(target.connection.node)} is up (${cluster})`);
    let installed: Awaited<ReturnType<typeof installTemplates>>;
    try {
      installed = await installTemplates(client, target.indexPrefix, target.templates);
    } catch (error) {
      throw new SetupError(
        'elasticsearch',
        `${where}: putting the index templates failed: ${errorText(error)}`,
        {
          cause: error,
        },
      );
    }
    const { names, types, alertsDataStream } = installed;
    const ecsTypes = `wildcard ${types.wildcard ? 'yes' : 'no, keyword'}, match_only_text ${types.matchOnlyText ? 'yes' : 'no, text'}`;
    const alerts = alertsDataStream
      ? `alerts to the data stream ${alertsDataStream}`
      : `alerts to ${target.indexPrefix}-alerts-* (no data streams)`;
    options.log(
      `elasticsearch: index templates ${names.join(', ')} (version ${TEMPLATE_VERSION}) installed for ` +
        `${target.indexPrefix}-events-* and ${target.indexPrefix}-alerts-*; ${alerts} ` +
        `(cluster field types: ${ecsTypes})`,
    );
    return names;
  } finally {
    await client.close();
  }
}

/** A 4xx other than 408/429 will not go away by waiting: fail at once (401/403: say where credentials come from). */
function refusal(error: unknown, where: string): SetupError | undefined {
  const status = (error as { meta?: { statusCode?: unknown } }).meta?.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500 || status === 408 || status === 429)
    return undefined;
  const hint = status === 401 || status === 403 ? ": check the elasticsearch sink's auth in the config" : '';
  return new SetupError(
    'elasticsearch',
    `${where} refused the request (HTTP ${status})${hint}: ${errorText(error)}`,
    {
      cause: error,
    },
  );
}
