import { DUPLICATE, type ItemOutcome, WRITTEN } from '../types.ts';

/**
 * What a sink's retry classifier makes of one request's response (the pattern every sink follows):
 * - `ok`: every item landed;
 * - `retry`: the request as a whole failed transiently, every item may be sent again;
 * - `retry-these-items`: the destination judged items one by one (ES bulk, HEC's invalid-event-number);
 * - `give-up`: the request as a whole can never succeed (bad credentials, unknown index...).
 */
export type RetryVerdict =
  | { action: 'ok'; duplicate?: boolean }
  | { action: 'retry'; reason: string; retryAfterMs?: number }
  | { action: 'retry-these-items'; outcomes: ItemOutcome[] }
  | { action: 'give-up'; reason: string };

/** Spreads a request-level verdict over the items of that request. */
export function outcomesOf(verdict: RetryVerdict, count: number): ItemOutcome[] {
  switch (verdict.action) {
    case 'ok':
      return new Array<ItemOutcome>(count).fill(verdict.duplicate ? DUPLICATE : WRITTEN);
    case 'retry': {
      const outcome: ItemOutcome = { status: 'retryable', reason: verdict.reason };
      if (verdict.retryAfterMs !== undefined) outcome.retryAfterMs = verdict.retryAfterMs;
      return new Array<ItemOutcome>(count).fill(outcome);
    }
    case 'retry-these-items':
      return verdict.outcomes;
    case 'give-up':
      return new Array<ItemOutcome>(count).fill({ status: 'permanent', reason: verdict.reason });
  }
}
