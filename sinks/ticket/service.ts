import type { Clock } from '../../core/clock.ts';
import { EdrError } from '../../core/errors.ts';
import type { Alert } from '../../engine/alert.ts';
import { outcomesOf, type RetryVerdict } from '../driver/verdict.ts';
import type { HttpClient, HttpRequest, HttpResponse } from '../shared/http.ts';
import { DUPLICATE, type ItemOutcome, WRITTEN } from '../types.ts';
import type { TicketApi, TicketRef } from './api.ts';
import type { TicketSinkConfig } from './config.ts';
import { type TicketContent, ticketContent } from './content.ts';
import { groupOf } from './group.ts';
import type { Secret } from './secret.ts';
import type { TicketOperation, TicketState } from './state.ts';

/** Comment pages read at most when checking whether an alert already commented. */
const MAX_COMMENT_PAGES = 10;

type Exchange = { ok: true; response: HttpResponse } | { ok: false; outcome: ItemOutcome };

export interface TicketCounts {
  created: number;
  commented: number;
  redelivered: number;
  commentsCapped: number;
  lookups: number;
}

/**
 * What to send for one alert, and what its answer means: the state file first (handled already?), then a
 * lookup by group label when the group has no known ticket, then a create or a comment between an `intent`
 * and its `done`. The request builders and classifiers are the target's (`TicketApi`); the retries are the
 * shared driver's. A rate-limit wait the target asked for stops every request until it is over.
 */
export class TicketService {
  readonly counts: TicketCounts = { created: 0, commented: 0, redelivered: 0, commentsCapped: 0, lookups: 0 };
  /** Epoch ms before which the target asked not to be called (Retry-After, rate-limit reset). */
  private quietUntil = 0;
  private lastMutationAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: Pick<
      TicketSinkConfig,
      'groupBy' | 'maxCommentsPerTicket' | 'maxFieldChars' | 'maxEventsListed'
    >,
    private readonly api: TicketApi,
    private readonly state: TicketState,
    private readonly secrets: readonly Secret[],
    private readonly client: HttpClient,
    private readonly clock: Clock,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  async handle(alert: Alert): Promise<ItemOutcome> {
    const { state } = this;
    if (state.isHandled(alert.alertId)) return this.redelivered();
    const group = groupOf(alert, this.config.groupBy);
    const content = ticketContent(alert, group, this.config);
    const pending = state.pendingOf(alert.alertId);
    let known = state.ticketOf(group.hash);
    // Comments of a ticket we did not just learn of may already hold this alert's.
    let unsure = pending?.op === 'comment';
    if (!known && this.api.find && this.api.parseFound) {
      this.counts.lookups++;
      const looked = await this.exchange(this.api.find(group));
      if (!looked.ok) return looked.outcome;
      const found = this.api.parseFound(looked.response);
      if (found) {
        await state.recordTicket(group.hash, found.ticket);
        if (found.openedBy === content.marker) {
          await state.done(alert.alertId, group.hash, 'create');
          return this.redelivered();
        }
        known = state.ticketOf(group.hash);
        unsure = true;
      } else if (pending?.op === 'create') {
        const settling = pending.at + this.api.lookupSettleMs - this.clock();
        // A create whose answer was lost may not be searchable yet: wait before making a second ticket.
        if (settling > 0) {
          return {
            status: 'retryable',
            reason: 'waiting for a lost create to become searchable',
            retryAfterMs: settling,
          };
        }
      }
    }
    if (!known) return this.send(content, 'create', this.api.create(content));
    if (known.comments >= this.config.maxCommentsPerTicket) {
      this.counts.commentsCapped++;
      await state.done(alert.alertId, group.hash, 'skip');
      return WRITTEN;
    }
    const request = this.api.comment(known.ticket, content);
    if (!request) {
      await state.done(alert.alertId, group.hash, 'skip');
      return WRITTEN;
    }
    if (unsure) {
      const seen = await this.hasCommented(known.ticket, content.marker);
      if (seen !== false) {
        if (seen !== true) return seen;
        await state.done(alert.alertId, group.hash, 'comment');
        return this.redelivered();
      }
    }
    return this.send(content, 'comment', request);
  }

  /** Sends a create or comment between an `intent` and its `done` (or `clear`) in the state file. */
  private async send(
    content: TicketContent,
    op: TicketOperation,
    request: HttpRequest,
  ): Promise<ItemOutcome> {
    const { state } = this;
    const { alertId } = content.alert;
    const { hash } = content.group;
    const gated = this.gate();
    if (gated) return gated;
    const spacing = this.lastMutationAt + this.api.mutationIntervalMs - this.clock();
    // Pacing the target asks for (bounded by mutationIntervalMs), not a failure: no retry is spent on it.
    if (spacing > 0) await this.sleep(spacing);
    await state.intend(alertId, hash, op, this.clock());
    this.lastMutationAt = this.clock();
    const sent = await this.exchange(request);
    if (!sent.ok) {
      // A refusal made nothing; a timeout or 5xx may have, so its intent stays for the next attempt to check.
      if (sent.outcome.status !== 'retryable') await state.clear(alertId);
      return sent.outcome;
    }
    let ticket: TicketRef | undefined;
    if (op === 'create') {
      ticket = this.api.parseCreated(sent.response);
      if (!ticket) {
        return { status: 'retryable', reason: `HTTP ${sent.response.status} named no ticket`, suspect: true };
      }
      this.counts.created++;
    } else this.counts.commented++;
    await state.done(alertId, hash, op, ticket);
    return WRITTEN;
  }

  /** Whether a comment of this alert is on the ticket, or the outcome that stopped the check. */
  private async hasCommented(ticket: TicketRef, marker: string): Promise<boolean | ItemOutcome> {
    const { comments, parseComments } = this.api;
    if (!comments || !parseComments) return false;
    for (let page: number | undefined = 0; page !== undefined && page < MAX_COMMENT_PAGES; ) {
      this.counts.lookups++;
      const read = await this.exchange(comments(ticket, page));
      if (!read.ok) return read.outcome;
      const result = parseComments(read.response, page);
      if (result.markers.includes(marker)) return true;
      page = result.next;
    }
    return false;
  }

  /** One request: waits out a rate limit first, classifies the answer, keeps tokens out of every reason. */
  private async exchange(request: HttpRequest): Promise<Exchange> {
    const gated = this.gate();
    if (gated) return { ok: false, outcome: gated };
    let verdict: RetryVerdict;
    let response: HttpResponse | undefined;
    try {
      response = await this.client.send(request);
      verdict = this.api.classify(response, this.clock());
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      verdict =
        error instanceof EdrError && error.retriable
          ? { action: 'retry', reason }
          : { action: 'refuse', reason };
    }
    if (verdict.action === 'ok' && response) return { ok: true, response };
    if (verdict.action === 'retry' && verdict.retryAfterMs !== undefined) {
      this.quietUntil = Math.max(this.quietUntil, this.clock() + verdict.retryAfterMs);
    }
    const outcome = outcomesOf(verdict, 1)[0]!;
    if ('reason' in outcome) outcome.reason = this.scrub(outcome.reason);
    return { ok: false, outcome };
  }

  private gate(): ItemOutcome | undefined {
    const wait = this.quietUntil - this.clock();
    return wait > 0
      ? { status: 'retryable', reason: 'waiting out the target rate limit', retryAfterMs: wait }
      : undefined;
  }

  private redelivered(): ItemOutcome {
    this.counts.redelivered++;
    return DUPLICATE;
  }

  private scrub(text: string): string {
    return this.secrets.reduce((scrubbed, secret) => secret.scrub(scrubbed), text);
  }
}
