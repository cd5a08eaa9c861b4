import { describe, expect, it } from 'vitest';
import type { Report } from '../../core/reports.ts';
import { SILENT_LOGGER } from '../types.ts';
import { ReportQueue } from './reports.ts';

const counts = (n: number): Report => ({
  kind: 'rule_counts',
  id: `p:0:${n}:R`,
  ruleId: 'R',
  partition: '0',
  at: '2026-03-14T08:00:00.000Z',
  alerts: 0,
  suppressed: n,
});

describe('report queue', () => {
  it('keeps what a failed write did not store and writes it, in order, with the next reports', async () => {
    const stored: number[] = [];
    let failing = true;
    const queue = new ReportQueue(
      'sqlite',
      async (reports) => {
        if (failing) throw new Error('database is locked');
        for (const report of reports) if (report.kind === 'rule_counts') stored.push(report.suppressed);
      },
      SILENT_LOGGER,
    );
    await queue.flush([counts(1), counts(2)]);
    expect(queue.stats()).toEqual({ sink: 'sqlite', pending: 2, dropped: 0 });
    failing = false;
    await queue.flush([counts(3)]);
    expect(stored).toEqual([1, 2, 3]);
    expect(queue.stats()).toEqual({ sink: 'sqlite', pending: 0, dropped: 0 });
  });

  it('drops the oldest past its bound while the sink takes none', async () => {
    const queue = new ReportQueue(
      'elasticsearch',
      async () => {
        throw new Error('cluster down');
      },
      SILENT_LOGGER,
      3,
    );
    await queue.flush([counts(1), counts(2)]);
    await queue.flush([counts(3), counts(4), counts(5)]);
    expect(queue.stats()).toEqual({ sink: 'elasticsearch', pending: 3, dropped: 2 });
  });
});
