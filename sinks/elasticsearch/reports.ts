import { createHash } from 'node:crypto';
import type { Client, estypes } from '@elastic/elasticsearch';
import { errors } from '@elastic/elasticsearch';
import type { Report } from '../../core/reports.ts';

/**
 * Processor reports (core/reports.ts) in two plain indices beside the daily ones, which the console store
 * reads: `<prefix>-rule-counts` (one document per rule and report) and `<prefix>-action-deliveries` (one per
 * alert, action and webhook route; a later report replaces it).
 */

const REPORT_INDICES = { rule_counts: 'rule-counts', action_delivery: 'action-deliveries' } as const;

export function reportIndex(prefix: string, kind: Report['kind']): string {
  return `${prefix}-${REPORT_INDICES[kind]}`;
}

const keyword = { type: 'keyword', ignore_above: 1024 } as const;
const MAPPINGS: Record<Report['kind'], estypes.MappingTypeMapping> = {
  rule_counts: {
    dynamic: 'strict',
    properties: {
      rule_id: keyword,
      partition: keyword,
      at: { type: 'date' },
      alerts: { type: 'long' },
      suppressed: { type: 'long' },
    },
  },
  action_delivery: {
    dynamic: 'strict',
    properties: {
      alert_id: keyword,
      action: keyword,
      sink: keyword,
      status: keyword,
      attempts: { type: 'long' },
      http_status: { type: 'long' },
      detail: { type: 'keyword', index: false },
      at: { type: 'date' },
    },
  },
};

/**
 * Creates both indices with their mappings where missing (idempotent; the sink and the console store both
 * call it), then waits until their primaries can answer: a search of an index still being created by the
 * other fails with no_shard_available_action_exception.
 */
export async function ensureReportIndices(client: Client, prefix: string, replicas: number): Promise<void> {
  const kinds = Object.keys(MAPPINGS) as Array<Report['kind']>;
  for (const kind of kinds) {
    try {
      await client.indices.create({
        index: reportIndex(prefix, kind),
        settings: { number_of_shards: 1, number_of_replicas: replicas },
        mappings: MAPPINGS[kind],
      });
    } catch (error) {
      const exists =
        error instanceof errors.ResponseError &&
        error.body?.error?.type === 'resource_already_exists_exception';
      if (!exists) throw error;
    }
  }
  const index = kinds.map((kind) => reportIndex(prefix, kind));
  try {
    await client.cluster.health({ index, wait_for_status: 'yellow', timeout: '30s' });
  } catch (error) {
    // Without the monitor privilege health cannot be read (403), or the shards are not up in 30 s (408): the
    // indices exist, and a query of them fails until they answer.
    const status = error instanceof errors.ResponseError ? error.statusCode : undefined;
    if (status !== 403 && status !== 408) throw error;
  }
}

/** `_id`s are digests: alert ids and report ids may be longer than the 512 bytes an `_id` may have. */
const digest = (...parts: string[]) => createHash('sha256').update(parts.join('\n')).digest('base64url');

/**
 * The two NDJSON lines of a report: rule counts are `create`d (a rewrite is a 409, stored once), a delivery is
 * `index`ed (the later report of the same alert, action and route replaces the earlier).
 */
export function reportLines(prefix: string, report: Report): [string, string] {
  const _index = reportIndex(prefix, report.kind);
  if (report.kind === 'rule_counts') {
    return [
      JSON.stringify({ create: { _index, _id: digest(report.id) } }),
      JSON.stringify({
        rule_id: report.ruleId,
        partition: report.partition,
        at: report.at,
        alerts: report.alerts,
        suppressed: report.suppressed,
      }),
    ];
  }
  return [
    JSON.stringify({ index: { _index, _id: digest(report.alertId, report.action, report.sink) } }),
    JSON.stringify({
      alert_id: report.alertId,
      action: report.action,
      sink: report.sink,
      status: report.status,
      attempts: report.attempts,
      http_status: report.httpStatus,
      detail: report.detail,
      at: report.at,
    }),
  ];
}

/** The first failure of a `_bulk` of reports other than a 409 (a report already stored), if any. */
export function reportBulkFailure(response: estypes.BulkResponse): string | undefined {
  if (!response.errors) return undefined;
  for (const item of response.items) {
    const result = Object.values(item)[0];
    if (result?.error && result.status !== 409)
      return `${result.status}: ${result.error.reason ?? result.error.type}`;
  }
  return undefined;
}
