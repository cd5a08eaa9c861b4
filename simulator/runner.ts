import type { Clock } from '../core/index.ts';
import type { SimRecord, Simulation } from './simulation.ts';
import type { RecordSink } from './sink.ts';
import type { RunStats } from './stats.ts';

export interface RunOptions {
  simulation: Simulation;
  sink: RecordSink;
  stats: RunStats;
  /** Records per second, on average. */
  rate: number;
  /** Event time to run for; 0 runs until `stop`. */
  durationMs: number;
  /** Most records per request. */
  batchSize: number;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  /** Ends the run after the batch being built is delivered (the first Ctrl-C). */
  stop?: AbortSignal;
}

/** A batch waits at most this long for more records, so a slow rate still looks live downstream. */
const FLUSH_INTERVAL_MS = 500;

/**
 * Paces the simulation at `rate`, batches its records and hands them to the sink one batch at a time
 * (in order, so a session's events arrive in the order they happened).
 */
export async function runSimulation(options: RunOptions): Promise<void> {
  const { simulation, sink, stats, rate, durationMs, batchSize, clock, sleep, stop } = options;
  const start = clock();
  let used = 0;
  let batch: SimRecord[] = [];
  let batchOpenedAt = start;

  const flush = async () => {
    const pending = batch;
    batch = [];
    for (let offset = 0; offset < pending.length; offset += batchSize) {
      const chunk = pending.slice(offset, offset + batchSize);
      const outcome = await sink.send(chunk.map((item) => JSON.stringify(item.record)));
      stats.recordBatch(chunk, outcome);
    }
  };

  while (!stop?.aborted) {
    const now = clock();
    const elapsed = now - start;
    if (durationMs > 0 && elapsed >= durationMs) break;
    const allowance = Math.floor((elapsed / 1000) * rate) + 1;
    // After a stall (the target pushing back), catch up by at most one second of records, not with a flood.
    used = Math.max(used, allowance - Math.ceil(rate));
    if (used < allowance) {
      const records = simulation.next(now);
      if (batch.length === 0) batchOpenedAt = now;
      batch.push(...records);
      used += records.length;
      stats.generated += records.length;
      if (batch.length >= batchSize) await flush();
      continue;
    }
    if (batch.length > 0 && now - batchOpenedAt >= FLUSH_INTERVAL_MS) {
      await flush();
      continue;
    }
    const nextRecordAt = start + (used / rate) * 1000;
    const flushAt = batch.length > 0 ? batchOpenedAt + FLUSH_INTERVAL_MS : Number.POSITIVE_INFINITY;
    const endAt = durationMs > 0 ? start + durationMs : Number.POSITIVE_INFINITY;
    await sleep(Math.max(1, Math.ceil(Math.min(nextRecordAt, flushAt, endAt) - now)));
  }
  await flush();
}

/**
 * A clock that sleeping moves forward instantly: `--output` writes a corpus with the event timing of a live
 * run in a fraction of the time. Each sleep still yields to the event loop so timers and signals run.
 */
export function virtualClock(startMs: number): { clock: Clock; sleep: (ms: number) => Promise<void> } {
  let now = startMs;
  return {
    clock: () => now,
    sleep: (ms) => {
      now += ms;
      return new Promise((resolve) => setImmediate(resolve));
    },
  };
}
