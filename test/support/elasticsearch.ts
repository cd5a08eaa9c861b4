import { randomUUID } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';

/**
 * The URL of the real Elasticsearch the harness (test/harness/global-setup.ts) started. Tests that need it
 * fail with this message rather than skip, so a missing service can never pass as green.
 */
export function requireElasticsearchUrl(): string {
  const url = process.env.ELASTICSEARCH_URL;
  if (!url) {
    throw new Error(
      'ELASTICSEARCH_URL is not set: these tests need the real Elasticsearch that test/harness/global-setup.ts ' +
        'starts (or export ELASTICSEARCH_URL=http://127.0.0.1:9200 for a running one).',
    );
  }
  return url;
}

/** A lowercase index prefix no other run shares. */
export function uniqueIndexPrefix(label: string): string {
  return `edrtest-${label}-${randomUUID().slice(0, 8)}`;
}

/** Deletes every index and index template under `prefix` (a test's own, from uniqueIndexPrefix). */
export async function dropIndexPrefix(client: Client, prefix: string): Promise<void> {
  // Destructive actions need concrete names (action.destructive_requires_name).
  const indices = Object.keys(await client.indices.get({ index: `${prefix}-*`, allow_no_indices: true }));
  if (indices.length > 0) await client.indices.delete({ index: indices });
  await client.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => undefined);
}
