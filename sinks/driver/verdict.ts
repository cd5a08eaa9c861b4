import { DUPLICATE, type ItemOutcome, WRITTEN } from '../types.ts';

/**
 * What a sink's retry classifier makes of one request's response (the pattern every sink follows):
 * - `ok`: every item landed;
 * - `retry`: the request as a whole failed transiently (down, overloaded, recovering): sent again for as long
 *   as that lasts;
 * - `retry-these-items`: the destination judged items one by one (ES bulk, HEC's invalid-event-number);
 * - `refuse`: the request as sent can never succeed, and any one of its items may be why (a 400 or 413 on a
 *   whole bulk): the driver splits it until the culprit is alone, and dead-letters only that one;
 * - `unusable`: the destination takes no request until an operator acts (credentials, permissions, a
 *   read-only folder): nothing is dead-lettered, the route waits and reports not ready.
 */
export type RetryVerdict =
  | { action: 'ok'; duplicate?: boolean }
  | { action: 'retry'; reason: string; retryAfterMs?: number }
  | { action: 'retry-these-items'; outcomes: ItemOutcome[] }
  | { action: 'refuse'; reason: string; code?: string }
  | { action: 'unusable'; reason: string };

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
    case 'refuse': {
      const outcome: ItemOutcome = { status: 'refused', reason: verdict.reason };
      if (verdict.code !== undefined) outcome.code = verdict.code;
      return new Array<ItemOutcome>(count).fill(outcome);
    }
    case 'unusable':
      return new Array<ItemOutcome>(count).fill({ status: 'blocked', reason: verdict.reason });
  }
}
