import { randomUUID } from 'node:crypto';

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
