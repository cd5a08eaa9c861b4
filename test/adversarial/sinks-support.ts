/** Helpers for the sink tests of issue 13: Elasticsearch counts by id, tmpfs mounts, JSONL files read strictly. */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@elastic/elasticsearch';

const execFileAsync = promisify(execFile);

/** How many documents of `index` (a pattern) hold each value of `field` (e.g. `event.id`), for every id. */
export async function countsById(
  client: Client,
  index: string,
  field: string,
  ids: readonly string[],
): Promise<Map<string, number>> {
  await client.indices.refresh({ index, allow_no_indices: true, ignore_unavailable: true });
  const counts = new Map<string, number>(ids.map((id) => [id, 0]));
  // A composite aggregation pages through every value: no id can hide behind a size limit.
  let after: Record<string, string | number> | undefined;
  for (;;) {
    const response = await client.search({
      index,
      allow_no_indices: true,
      size: 0,
      aggs: {
        ids: {
          composite: {
            size: 5_000,
            sources: [{ id: { terms: { field } } }],
            ...(after ? { after } : {}),
          },
        },
      },
    });
    const aggregation = response.aggregations?.ids as
      | { buckets: Array<{ key: { id: string }; doc_count: number }>; after_key?: Record<string, string> }
      | undefined;
    for (const bucket of aggregation?.buckets ?? []) {
      counts.set(bucket.key.id, (counts.get(bucket.key.id) ?? 0) + bucket.doc_count);
    }
    if (!aggregation?.after_key || aggregation.buckets.length === 0) break;
    after = aggregation.after_key;
  }
  return counts;
}

/** Ids held other than exactly once: missing ones with 0, repeated ones with their count, unknown ones too. */
export function notExactlyOnce(counts: ReadonlyMap<string, number>): Array<[string, number]> {
  return [...counts].filter(([, count]) => count !== 1);
}

export async function deleteIndices(client: Client, prefix: string): Promise<void> {
  const indices = Object.keys(await client.indices.get({ index: `${prefix}-*`, allow_no_indices: true }));
  if (indices.length > 0) await client.indices.delete({ index: indices });
  await client.indices
    .deleteIndexTemplate({ name: [`${prefix}-events`, `${prefix}-alerts`] })
    .catch(() => undefined);
}

/**
 * Mounts a tmpfs of `sizeBytes` at `dir` (CI runs as root). A drill that cannot mount fails with the reason:
 * a full disk cannot be simulated honestly any other way, and a skipped drill would pass as green.
 */
export async function mountTmpfs(dir: string, sizeBytes: number): Promise<{ unmount: () => Promise<void> }> {
  await mkdir(dir, { recursive: true });
  try {
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  } catch (error) {
    throw new Error(
      `this drill mounts a ${sizeBytes}-byte tmpfs at ${dir} to fill it, which needs root and mount(8): ` +
        `${(error as Error).message.trim()}`,
    );
  }
  return {
    unmount: async () => {
      await execFileAsync('umount', [dir]).catch(() => execFileAsync('umount', ['-l', dir]));
    },
  };
}

export async function remount(dir: string, mode: 'ro' | 'rw'): Promise<void> {
  await execFileAsync('mount', ['-o', `remount,${mode}`, dir]);
}

/** Every line of the JSONL files under `dir` whose name matches, parsed; lines that do not parse are `torn`. */
export async function jsonlLines(
  dir: string,
  name: RegExp,
): Promise<{ records: Array<Record<string, unknown>>; torn: string[]; unterminated: string[] }> {
  const records: Array<Record<string, unknown>> = [];
  const torn: string[] = [];
  const unterminated: string[] = [];
  for (const file of (await readdir(dir)).filter((entry) => name.test(entry))) {
    const text = await readFile(join(dir, file), 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) unterminated.push(file);
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        records.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        torn.push(`${file}: ${line.slice(0, 80)}`);
      }
    }
  }
  return { records, torn, unterminated };
}

/** How often each id appears among `values`, for the ids expected (0 when missing). */
export function occurrences(values: readonly string[], expected: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>(expected.map((id) => [id, 0]));
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}
