import type { Report } from '../../core/reports.ts';
import type { SinkLogger } from '../types.ts';

/** Reports one sink holds while its writes fail; past it the oldest are dropped (and counted). */
export const MAX_PENDING_REPORTS = 50_000;
/** Reports per `writeReports` call. */
const REPORTS_PER_WRITE = 1_000;

/** How a report queue stands: waiting to be written, and dropped at the bound since start. */
export interface ReportQueueStats {
  sink: string;
  pending: number;
  dropped: number;
}

/**
 * The reports waiting for one sink, written in order; what a failed write did not store waits for the next
 * flush. Reports are not on the delivery path: a sink that cannot take them holds back no event or alert.
 */
export class ReportQueue {
  private pending: Report[] = [];
  private dropped = 0;
  /** Flushes run one after another, so a slow write is never overtaken. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly sink: string,
    private readonly writeReports: (reports: readonly Report[]) => Promise<void>,
    private readonly log: SinkLogger,
    private readonly max = MAX_PENDING_REPORTS,
  ) {}

  /** Adds `reports` and writes everything pending; resolves when done or when a write failed (logged). */
  flush(reports: readonly Report[]): Promise<void> {
    this.pending.push(...reports);
    const excess = this.pending.length - this.max;
    if (excess > 0) {
      this.pending.splice(0, excess);
      this.dropped += excess;
      this.log.warn({ sink: this.sink, dropped: excess }, 'reports dropped: the sink has not taken them');
    }
    this.chain = this.chain.then(() => this.write());
    return this.chain;
  }

  stats(): ReportQueueStats {
    return { sink: this.sink, pending: this.pending.length, dropped: this.dropped };
  }

  private async write(): Promise<void> {
    while (this.pending.length > 0) {
      const chunk = this.pending.slice(0, REPORTS_PER_WRITE);
      try {
        await this.writeReports(chunk);
      } catch (error) {
        this.log.warn(
          { sink: this.sink, pending: this.pending.length, err: error },
          'reports not stored; they are written with the next ones',
        );
        return;
      }
      // Only the written ones leave: reports added (or dropped) meanwhile keep their place.
      const index = this.pending.indexOf(chunk[0]!);
      if (index >= 0) this.pending.splice(index, chunk.length);
    }
  }
}
