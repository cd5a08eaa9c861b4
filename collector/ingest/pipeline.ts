import type { Clock } from '../../core/clock.ts';
import { EdrError } from '../../core/errors.ts';
import { type Envelope, parseRecord, type RecordLimits } from '../../engine/model/index.ts';
import type { Producer } from '../../transport/index.ts';
import type { Principal } from '../plugins/auth/index.ts';
import type { CollectorMetrics, RecordRejectReason } from '../plugins/metrics/index.ts';
import type { TokenBuckets } from '../plugins/rate-limit/index.ts';
import { type Candidate, unreadableError } from './candidate.ts';
import { eventIdentity, type PublishedEvent, publishedEvent, recordsFor } from './routing.ts';
import { mapInSlices } from './slices.ts';

export interface IngestError {
  index: number;
  line?: number;
  field: string;
  message: string;
}

/** Per record of the request, in order: its eventId when accepted, else why not. */
export type RecordResult =
  | { index: number; eventId: string }
  | { index: number; reason: RecordRejectReason; errors: IngestError[] };

export interface IngestOutcome {
  accepted: number;
  rejected: number;
  /** The first `maxErrorsReported` problems; `rejected` counts every refused record. */
  errors: IngestError[];
  results: RecordResult[];
}

/**
 * What a refused record means for the records after it. `isolated`: nothing, each record stands alone.
 * `prefix` (Splunk HEC): the records before the first refusal are published, it and every record after it
 * are not, so a sender that resends from the refused record never duplicates one.
 */
export type BatchSemantics = 'isolated' | 'prefix';

/** What the pipeline needs to know about the sender. */
export type Sender = Pick<Principal, 'id' | 'agents' | 'freshWithinMs'>;

export interface IngestPipelineDeps {
  producer: Producer;
  metrics: CollectorMetrics;
  /** Records per (sender, agent); undefined turns the limit off. */
  perAgent: TokenBuckets | undefined;
  /** Records per sender over all its agents; undefined turns the limit off. */
  perSender: TokenBuckets | undefined;
  clock: Clock;
  maxErrorsReported: number;
  /** limits.record, shared with the processor: what is accepted here decodes there. */
  recordLimits: RecordLimits;
  /** Where an unexpected exception while handling one record is logged (it became that record's error). */
  log: { warn(fields: Record<string, unknown>, message: string): void };
}

export interface IngestPipeline {
  /**
   * parse → bind to the sender's agents → dedupe → rate-limit → route → publish. Resolves once the broker
   * acknowledged every accepted record; throws (503) when it did not, and then nothing of the request counts
   * as accepted. Nothing a record holds makes it throw: each record's problem is that record's error.
   */
  ingest(
    protocol: string,
    candidates: readonly Candidate[],
    sender: Sender,
    semantics?: BatchSemantics,
  ): Promise<IngestOutcome>;
}

type Verdict =
  | { candidate: Candidate; envelope: Envelope; event: PublishedEvent; duplicate: boolean }
  | { candidate: Candidate; reason: RecordRejectReason; errors: { field: string; message: string }[] };

type Accepted = Extract<Verdict, { envelope: Envelope }>;

/** Agent ids quoted in messages are cut to this length. */
const SHOWN_ID_LENGTH = 128;

export function createIngestPipeline(deps: IngestPipelineDeps): IngestPipeline {
  const { metrics } = deps;
  return {
    async ingest(protocol, candidates, sender, semantics = 'isolated') {
      metrics.recordsReceived.inc({ protocol }, candidates.length);
      const verdicts = await judgeAll(candidates, sender);
      if (semantics === 'prefix') cutAtFirstRefusal(verdicts);
      const retryAfterSeconds = limitRates(verdicts, sender);
      // Every valid record over a rate limit, or (prefix) any: have the sender come back with all of them
      // rather than drop them; a prefix sender resends the whole batch, so none of it may be published.
      if (retryAfterSeconds !== undefined && (semantics === 'prefix' || !verdicts.some(isAccepted))) {
        throw new EdrError('EDR_ERR_RATE_LIMITED', 'records over their rate limit', { retryAfterSeconds });
      }
      const unique = verdicts.filter(
        (verdict): verdict is Accepted => isAccepted(verdict) && !verdict.duplicate,
      );
      await publish(protocol, unique);
      return outcome(protocol, verdicts);
    },
  };

  async function judgeAll(candidates: readonly Candidate[], sender: Sender): Promise<Verdict[]> {
    const now = deps.clock();
    const receivedAt = new Date(now).toISOString();
    const seen = new Map<string, { index: number; value: Buffer }>();
    return mapInSlices(candidates, (candidate) => {
      try {
        return judge(candidate, sender, receivedAt, now, seen);
      } catch (error) {
        deps.log.warn({ err: error, index: candidate.index }, 'record could not be handled');
        return refuse(candidate, 'internal', unreadableError(error));
      }
    });
  }

  function judge(
    candidate: Candidate,
    sender: Sender,
    receivedAt: string,
    now: number,
    seen: Map<string, { index: number; value: Buffer }>,
  ): Verdict {
    if (candidate.error) return { candidate, reason: candidate.error.reason, errors: [candidate.error] };
    const limits = deps.recordLimits;
    const parsed = parseRecord(
      candidate.record,
      candidate.format ? { receivedAt, format: candidate.format, limits } : { receivedAt, limits },
    );
    if (!parsed.ok) return { candidate, reason: 'invalid', errors: parsed.error };
    const envelope = parsed.value;
    if (sender.agents && !sender.agents(envelope.agentId)) {
      return refuse(candidate, 'forbidden_agent', {
        field: 'agentId',
        message: `${sender.id} may not send records for agent ${shown(envelope.agentId)}`,
      });
    }
    if (sender.freshWithinMs !== undefined) {
      // An untrusted time (integrity.clock) stands in for receivedAt: no proof of freshness either.
      const skew = Math.abs(Date.parse(envelope.timestamp) - now);
      if (envelope.integrity?.clock !== undefined || !(skew <= sender.freshWithinMs)) {
        return refuse(candidate, 'stale', {
          field: 'timestamp',
          message: `more than ${sender.freshWithinMs / 1000} s from arrival: outside the replay window of ${sender.id}`,
        });
      }
    }
    // parseRecord cuts long strings so the envelope fits; what it cannot fit must not reach the broker,
    // which would refuse the whole publish (key and headers add at most a few ids to this).
    const event = publishedEvent(envelope);
    if (event.value.byteLength > limits.maxRecordBytes) {
      return refuse(candidate, 'too_large', {
        field: '(record)',
        message: `${event.value.byteLength} bytes once normalized, over limits.record.maxRecordBytes (${limits.maxRecordBytes})`,
      });
    }
    const identity = eventIdentity(envelope.agentId, envelope.eventId);
    const first = seen.get(identity);
    if (first === undefined) {
      seen.set(identity, { index: candidate.index, value: event.value });
      return { candidate, envelope, event, duplicate: false };
    }
    if (first.value.equals(event.value)) return { candidate, envelope, event, duplicate: true };
    return refuse(candidate, 'conflict', {
      field: 'eventId',
      message: `repeats the eventId of record ${first.index} (same agent) with different content`,
    });
  }

  /**
   * Charges each (sender, agent) bucket for its records, then the sender's own budget for what passed. An
   * agent over its limit has all its records refused (as a unit, so a retry resends them together); so has
   * the whole request when the sender is over its budget. Returns the longest wait asked for, or undefined.
   */
  function limitRates(verdicts: Verdict[], sender: Sender): number | undefined {
    const waits: number[] = [];
    if (deps.perAgent) {
      const perAgent = new Map<string, number>();
      for (const verdict of verdicts) {
        if (isAccepted(verdict) && !verdict.duplicate) {
          const { agentId } = verdict.envelope;
          perAgent.set(agentId, (perAgent.get(agentId) ?? 0) + 1);
        }
      }
      const refused = new Map<string, number>();
      for (const [agentId, count] of perAgent) {
        const admission = deps.perAgent.take(`${sender.id.length}:${sender.id}${agentId}`, count);
        if (!admission.ok) refused.set(agentId, admission.retryAfterSeconds);
      }
      for (const [index, verdict] of verdicts.entries()) {
        if (!isAccepted(verdict)) continue;
        const wait = refused.get(verdict.envelope.agentId);
        if (wait === undefined) continue;
        metrics.rateLimited.inc({ scope: 'agent' });
        verdicts[index] = refuse(verdict.candidate, 'rate_limited', {
          field: 'agentId',
          message: `agent ${shown(verdict.envelope.agentId)} is over its rate limit; retry after ${wait} s`,
        });
      }
      waits.push(...refused.values());
    }
    const admitted = verdicts.filter((verdict) => isAccepted(verdict) && !verdict.duplicate).length;
    if (deps.perSender && admitted > 0) {
      const admission = deps.perSender.take(sender.id, admitted);
      if (!admission.ok) {
        const wait = admission.retryAfterSeconds;
        for (const [index, verdict] of verdicts.entries()) {
          if (!isAccepted(verdict)) continue;
          metrics.rateLimited.inc({ scope: 'key_records' });
          verdicts[index] = refuse(verdict.candidate, 'rate_limited', {
            field: '(record)',
            message: `${sender.id} is over its record rate limit; retry after ${wait} s`,
          });
        }
        waits.push(wait);
      }
    }
    return waits.length > 0 ? Math.max(...waits) : undefined;
  }

  async function publish(protocol: string, accepted: readonly Accepted[]): Promise<void> {
    if (accepted.length === 0) return;
    const records = accepted.flatMap(({ envelope, event }) => recordsFor(envelope, event));
    const started = performance.now();
    try {
      await deps.producer.publish(records);
    } catch (error) {
      metrics.publishDuration.observe({ outcome: 'error' }, (performance.now() - started) / 1000);
      metrics.recordsRejected.inc({ protocol, reason: 'broker_unavailable' }, accepted.length);
      throw error instanceof EdrError
        ? error
        : new EdrError('EDR_ERR_BROKER_UNAVAILABLE', undefined, { cause: error });
    }
    metrics.publishDuration.observe({ outcome: 'ok' }, (performance.now() - started) / 1000);
    const perStream = new Map<string, number>();
    for (const { stream } of records) perStream.set(stream, (perStream.get(stream) ?? 0) + 1);
    for (const [stream, count] of perStream) metrics.recordsPublished.inc({ stream }, count);
  }

  function outcome(protocol: string, verdicts: readonly Verdict[]): IngestOutcome {
    const results: RecordResult[] = [];
    const rejectedBy = new Map<RecordRejectReason, number>();
    let duplicates = 0;
    for (const verdict of verdicts) {
      const { candidate } = verdict;
      if (isAccepted(verdict)) {
        if (verdict.duplicate) duplicates++;
        results.push({ index: candidate.index, eventId: verdict.envelope.eventId });
        continue;
      }
      rejectedBy.set(verdict.reason, (rejectedBy.get(verdict.reason) ?? 0) + 1);
      results.push({
        index: candidate.index,
        reason: verdict.reason,
        errors: verdict.errors.map((error) => located(candidate, error)),
      });
    }
    const accepted = verdicts.length - [...rejectedBy.values()].reduce((sum, count) => sum + count, 0);
    metrics.recordsAccepted.inc({ protocol }, accepted);
    for (const [reason, count] of rejectedBy) metrics.recordsRejected.inc({ protocol, reason }, count);
    if (duplicates > 0) metrics.recordsDeduplicated.inc({ protocol }, duplicates);
    const errors: IngestError[] = [];
    for (const result of results) {
      if (errors.length >= deps.maxErrorsReported) break;
      if ('errors' in result) errors.push(...result.errors.slice(0, deps.maxErrorsReported - errors.length));
    }
    return { accepted, rejected: verdicts.length - accepted, errors, results };
  }
}

/** Refuses every record after the first refused one (see BatchSemantics), naming that one. */
function cutAtFirstRefusal(verdicts: Verdict[]): void {
  const first = verdicts.findIndex((verdict) => !isAccepted(verdict));
  if (first === -1) return;
  const message = `not read: record ${verdicts[first]!.candidate.index} before it was refused; resend from there`;
  for (let index = first + 1; index < verdicts.length; index++) {
    verdicts[index] = refuse(verdicts[index]!.candidate, 'after_refused', { field: '(record)', message });
  }
}

function isAccepted(verdict: Verdict): verdict is Accepted {
  return 'envelope' in verdict;
}

function refuse(
  candidate: Candidate,
  reason: RecordRejectReason,
  error: { field: string; message: string },
): Verdict {
  return { candidate, reason, errors: [{ field: error.field, message: error.message }] };
}

function shown(id: string): string {
  return JSON.stringify(id.length > SHOWN_ID_LENGTH ? `${id.slice(0, SHOWN_ID_LENGTH)}…` : id);
}

function located(candidate: Candidate, error: { field: string; message: string }): IngestError {
  const { index, line } = candidate;
  return line === undefined
    ? { index, field: error.field, message: error.message }
    : { index, line, field: error.field, message: error.message };
}
