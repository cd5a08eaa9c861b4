import type { RetryVerdict } from '../driver/verdict.ts';
import type { HttpRequest, HttpResponse } from '../shared/http.ts';
import type { TicketContent } from './content.ts';
import type { TicketGroup } from './group.ts';

/** A ticket as the target names it: GitHub's issue number, Jira's issue key, a template's id. */
export interface TicketRef {
  id: string;
  url: string;
}

export interface FoundTicket {
  ticket: TicketRef;
  /** The marker on the ticket's first line: the alert that opened it. */
  openedBy: string | undefined;
}

export interface CommentPage {
  markers: string[];
  /** The next page to read, when there is one. */
  next?: number;
}

/**
 * One ticket system, as pure request builders and response parsers; the sink sends and decides. A target
 * without `find` cannot be searched: its idempotency rests on the state file and the Idempotency-Key it sends.
 */
export interface TicketApi {
  readonly lookupSettleMs: number;
  /** Least time between two creates or comments (GitHub asks a second, against secondary rate limits). */
  readonly mutationIntervalMs: number;
  /** The request that finds the group's ticket by its label. */
  find?(group: TicketGroup): HttpRequest;
  parseFound?(response: HttpResponse): FoundTicket | undefined;
  /** The comments of a ticket, one page (0-based) at a time: to find an alert's marker. */
  comments?(ticket: TicketRef, page: number): HttpRequest;
  parseComments?(response: HttpResponse, page: number): CommentPage;
  create(content: TicketContent): HttpRequest;
  /** undefined when a 2xx answer does not say which ticket was made. */
  parseCreated(response: HttpResponse): TicketRef | undefined;
  /** undefined: the target adds nothing for later alerts of a group. */
  comment(ticket: TicketRef, content: TicketContent): HttpRequest | undefined;
  classify(response: HttpResponse, now: number): RetryVerdict;
}

/** The body as JSON, or undefined when it is not JSON. */
export function jsonOf(response: HttpResponse): unknown {
  try {
    return JSON.parse(response.body) as unknown;
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
