import type { BrokerCollector } from '../../collector/test/brokers.ts';
import { eventIds } from '../../collector/test/brokers.ts';
import { collect } from '../../transport/testing/index.ts';

/**
 * How many times each of `ids` is on the collector's events topic: read once all of them arrived (or
 * the wait ran out), then a little longer, so a duplicate arriving late is counted too.
 */
export async function landedCounts(
  collector: BrokerCollector,
  ids: readonly string[],
  { settleMs = 1_500, timeoutMs = 30_000 } = {},
): Promise<Record<string, number>> {
  const wanted = new Set(ids);
  const messages = await collect(collector.transport, 'events', {
    until: (so) => new Set(eventIds(so).filter((id) => wanted.has(id))).size === wanted.size,
    settleMs,
    timeoutMs,
  });
  const counts: Record<string, number> = Object.fromEntries(ids.map((id) => [id, 0]));
  for (const id of eventIds(messages)) if (wanted.has(id)) counts[id]! += 1;
  return counts;
}

/** `ids` each once. */
export const once = (ids: readonly string[]): Record<string, number> =>
  Object.fromEntries(ids.map((id) => [id, 1]));
