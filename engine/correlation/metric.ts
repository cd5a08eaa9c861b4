import type { Metric } from '../rules/schema.ts';
import type { HitBuffer } from './hits.ts';

/** A compiled value_sum / value_avg condition: the aggregate and the test its value must pass. */
export interface MetricSpec {
  average: boolean;
  holds: (value: number) => boolean;
}

/** Every bound the metric gives must hold. */
export function metricTest(metric: Metric): (value: number) => boolean {
  const { gt, gte, lt, lte, eq, neq } = metric;
  return (value) =>
    (gt === undefined || value > gt) &&
    (gte === undefined || value >= gte) &&
    (lt === undefined || value < lt) &&
    (lte === undefined || value <= lte) &&
    (eq === undefined || value === eq) &&
    (neq === undefined || value !== neq);
}

/**
 * The number an event counts with: a finite number, or text that reads as one (`"443"`); anything else
 * (absent, an object, `"1e999"`, which reads as Infinity) makes the event no hit.
 */
export function metricValue(value: unknown): number | undefined {
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : NaN;
  return Number.isFinite(number) ? number : undefined;
}

/**
 * value_sum / value_avg, judged at the hit at `index` over the window that ends at it, [t - window, t]
 * (inclusive at both ends), with the hits held so far; hits keep their number as text in `value` (exactly:
 * the text of a double reads back as it). The sum runs in (time, arrival) order, so the result is the same
 * wherever the events are replayed. Cost: one pass over the
 * window's hits, which maxHitsPerState bounds. Returns the event ids of the window when the test holds.
 */
export function findMetric(
  hits: HitBuffer,
  index: number,
  windowMs: number,
  metric: MetricSpec,
): string[] | undefined {
  const t = hits.time(index);
  const from = hits.lowerBound(t - windowMs);
  const to = hits.upperBound(t);
  // Compensated (Neumaier) summation: a huge value and its negative cannot make the small ones vanish.
  let sum = 0;
  let compensation = 0;
  for (let i = from; i < to; i++) {
    const value = Number(hits.value(i));
    const next = sum + value;
    compensation += Math.abs(sum) >= Math.abs(value) ? sum - next + value : value - next + sum;
    sum = next;
  }
  // Past the largest double the sum is infinite (it is that large); the compensation would make it NaN.
  const total = Number.isFinite(sum) ? sum + compensation : sum;
  const value = metric.average ? total / (to - from) : total;
  return metric.holds(value) ? hits.eventIdsBetween(from, to) : undefined;
}
