import type { Clock } from '../../core/clock.ts';
import { EdrError } from '../../core/errors.ts';
import { type Envelope, parseRecord } from '../../engine/model/index.ts';
import type { Producer } from '../../transport/index.ts';
import type { CollectorMetrics, RecordRejectReason } from '../plugins/metrics/index.ts';
import type { TokenBuckets } from '../plugins/rate-limit/index.ts';
import type { Candidate } from './candidate.ts';
import { recordsFor } from './routing.ts';

export interface IngestError {
  index: number;
  line?: number;
  field: string;
  message: string;
}

/** Per record of the request, in order: its eventId when accepted, else why not. */
export type RecordResult = { index: number; eventId: string } | { index: number; errors: IngestError[] };

export interface IngestOutcome {
  accepted: number;
  rejected: number;
  /** The first `maxErrorsReported` problems; `rejected` counts every refused record. */
  errors: IngestError[];
  results: RecordResult[];
}

export interface IngestPipelineDeps {
  producer: Producer;
  metrics: CollectorMetrics;
  /** Records per agent; undefined turns the limit off. */
  perAgent: TokenBuckets | undefined;
  clock: Clock;
  maxErrorsReported: number;
}

export interface IngestPipeline {
  /**
   * parse → dedupe → rate-limit per agent → route → publish. Resolves once the broker acknowledged every
   * accepted record; throws (503) when it did not, and then nothing of the request counts as accepted.
   */
  ingest(route: string, candidates: readonly Candidate[]): Promise<IngestOutcome>;
}

type Verdict =
  | { candidate: Candidate; envelope: Envelope; duplicate: boolean }
  | { candidate: Candidate; reason: RecordRejectReason; errors: { field: string; message: string }[] };

export function createIngestPipeline(deps: IngestPipelineDeps): IngestPipeline {
  const { metrics } = deps;
  return {
    async ingest(route, candidates) {
      metrics.recordsReceived.inc({ route }, candidates.length);
      const verdicts = judge(candidates, new Date(deps.clock()).toISOString());
      if (deps.perAgent) {
        const retryAfterSeconds = limitAgents(verdicts, deps.perAgent, metrics);
        if (retryAfterSeconds !== undefined && !verdicts.some((verdict) => 'envelope' in verdict)) {
          // Every valid record is over its agent's limit: have the sender come back rather than drop them.
          throw new EdrError('EDR_ERR_RATE_LIMITED', 'every record is over its agent rate limit', {
            retryAfterSeconds,
          });
        }
      }
      const unique = verdicts.flatMap((verdict) =>
        'envelope' in verdict && !verdict.duplicate ? [verdict.envelope] : [],
      );
      await publish(route, unique);
      return outcome(route, verdicts);
    },
  };

  async function publish(route: string, envelopes: readonly Envelope[]): Promise<void> {
    if (envelopes.length === 0) return;
    const records = envelopes.flatMap(recordsFor);
    const started = performance.now();
    try {
      await deps.producer.publish(records);
    } catch (error) {
      metrics.publishDuration.observe({ outcome: 'error' }, (performance.now() - started) / 1000);
      metrics.recordsRejected.inc({ route, reason: 'broker_unavailable' }, envelopes.length);
      throw error instanceof EdrError
        ? error
        : new EdrError('EDR_ERR_BROKER_UNAVAILABLE', undefined, { cause: error });
    }
    metrics.publishDuration.observe({ outcome: 'ok' }, (performance.now() - started) / 1000);
    const perStream = new Map<string, number>();
    for (const { stream } of records) perStream.set(stream, (perStream.get(stream) ?? 0) + 1);
    for (const [stream, count] of perStream) metrics.recordsPublished.inc({ stream }, count);
  }

  function outcome(route: string, verdicts: readonly Verdict[]): IngestOutcome {
    const results: RecordResult[] = [];
    const rejectedBy = new Map<RecordRejectReason, number>();
    let duplicates = 0;
    for (const verdict of verdicts) {
      const { candidate } = verdict;
      if ('envelope' in verdict) {
        if (verdict.duplicate) duplicates++;
        results.push({ index: candidate.index, eventId: verdict.envelope.eventId });
        continue;
      }
      rejectedBy.set(verdict.reason, (rejectedBy.get(verdict.reason) ?? 0) + 1);
      results.push({
        index: candidate.index,
        errors: verdict.errors.map((error) => located(candidate, error)),
      });
    }
    const accepted = verdicts.length - [...rejectedBy.values()].reduce((sum, count) => sum + count, 0);
    metrics.recordsAccepted.inc({ route }, accepted);
    for (const [reason, count] of rejectedBy) metrics.recordsRejected.inc({ route, reason }, count);
    if (duplicates > 0) metrics.recordsDeduplicated.inc({ route }, duplicates);
    return {
      accepted,
      rejected: verdicts.length - accepted,
      errors: results
        .flatMap((result) => ('errors' in result ? result.errors : []))
        .slice(0, deps.maxErrorsReported),
      results,
    };
  }
}

/** Normalizes each candidate and marks repeats of an eventId already seen in the request. */
function judge(candidates: readonly Candidate[], receivedAt: string): Verdict[] {
  const seen = new Set<string>();
  return candidates.map((candidate): Verdict => {
    if (candidate.error) return { candidate, reason: candidate.error.reason, errors: [candidate.error] };
    const parsed = parseRecord(
      candidate.record,
      candidate.format ? { receivedAt, format: candidate.format } : { receivedAt },
    );
    if (!parsed.ok) return { candidate, reason: 'invalid', errors: parsed.error };
    const duplicate = seen.has(parsed.value.eventId);
    seen.add(parsed.value.eventId);
    return { candidate, envelope: parsed.value, duplicate };
  });
}

/**
 * Charges each agent for its records; an agent over its limit has all its records refused (as a unit, so
 * a retry resends them together). Returns the longest wait asked for, or undefined when nobody was limited.
 */
function limitAgents(
  verdicts: Verdict[],
  buckets: TokenBuckets,
  metrics: CollectorMetrics,
): number | undefined {
  const perAgent = new Map<string, number>();
  for (const verdict of verdicts) {
    if ('envelope' in verdict && !verdict.duplicate) {
      perAgent.set(verdict.envelope.agentId, (perAgent.get(verdict.envelope.agentId) ?? 0) + 1);
    }
  }
  const refused = new Map<string, number>();
  for (const [agentId, count] of perAgent) {
    const admission = buckets.take(agentId, count);
    if (!admission.ok) refused.set(agentId, admission.retryAfterSeconds);
  }
  if (refused.size === 0) return undefined;
  verdicts.forEach((verdict, index) => {
    if (!('envelope' in verdict)) return;
    const wait = refused.get(verdict.envelope.agentId);
    if (wait === undefined) return;
    metrics.rateLimited.inc({ scope: 'agent' });
    verdicts[index] = {
      candidate: verdict.candidate,
      reason: 'rate_limited',
      errors: [
        {
          field: 'agentId',
          message: `agent ${verdict.envelope.agentId} is over its rate limit; retry after ${wait} s`,
        },
      ],
    };
  });
  return Math.max(...refused.values());
}

function located(candidate: Candidate, error: { field: string; message: string }): IngestError {
  const { index, line } = candidate;
  return line === undefined
    ? { index, field: error.field, message: error.message }
    : { index, line, field: error.field, message: error.message };
}
