import { EdrError } from '../../../core/errors.ts';
import { principalOf } from '../auth/index.ts';
import { exposed } from '../expose.ts';
import type { CollectorMetrics } from '../metrics/index.ts';
import type { TokenBuckets } from './token-buckets.ts';

export type { Admission, BucketLimits } from './token-buckets.ts';
export { TokenBuckets } from './token-buckets.ts';

export interface RateLimitOptions extends Record<string, unknown> {
  /** Requests per credential; undefined turns the limit off. */
  perKey: TokenBuckets | undefined;
  metrics: CollectorMetrics;
}

/**
 * The per-credential limit, one token per request, checked once the caller is known. The per-agent limit
 * counts records and needs the parsed batch, so the ingest pipeline applies it.
 */
export const rateLimitPlugin = exposed<RateLimitOptions>(
  'edr-rate-limit',
  async (app, { perKey, metrics }) => {
    if (!perKey) return;
    app.addHook('preHandler', async (request) => {
      const principal = principalOf(request);
      const admission = perKey.take(principal.id);
      if (admission.ok) return;
      metrics.rateLimited.inc({ scope: 'key' });
      throw new EdrError('EDR_ERR_RATE_LIMITED', `too many requests for ${principal.id}`, {
        retryAfterSeconds: admission.retryAfterSeconds,
      });
    });
  },
);
