import { describe, expect, it } from 'vitest';
import { RuleCountsReportSchema } from '../core/reports.ts';
import { bundledRules, egress, read, replayEngine } from '../test/engine/helpers.ts';
import { makeAlert } from '../test/support/sink-items.ts';
import { type CountedPartition, ProcessorReports } from './reports.ts';

const exfiltration = () => replayEngine(bundledRules(['CREDENTIAL_EXFILTRATION']));
/** A read and an egress: the first pair alerts, the pairs soon after it are suppressed. */
const pair = (second: number) => [read(second, '/home/a/.ssh/id_rsa'), egress(second + 1, 'evil.example')];

describe('processor reports', () => {
  it('reports each partition’s alerts and suppressions since the previous report, once', () => {
    const reports = new ProcessorReports(() => 0);
    const { engine, run } = exfiltration();
    const partition: CountedPartition = { partition: '3', engine };
    run([...pair(0), ...pair(10), ...pair(20)]);
    const first = reports.take([partition]);
    expect(first).toMatchObject([
      { kind: 'rule_counts', ruleId: 'CREDENTIAL_EXFILTRATION', partition: '3', alerts: 1, suppressed: 2 },
    ]);
    expect(() => RuleCountsReportSchema.parse(first[0])).not.toThrow();
    expect(first[0]).toMatchObject({ at: engine.stats().eventTime });
    expect(reports.take([partition])).toEqual([]);
    run(pair(30));
    const second = reports.take([partition]);
    expect(second).toMatchObject([{ alerts: 0, suppressed: 1 }]);
    const ids = [...first, ...second].map((report) => (report.kind === 'rule_counts' ? report.id : ''));
    expect(new Set(ids).size).toBe(2);
  });

  it('does not count again what an engine rebuilt by a rollback replayed', () => {
    const reports = new ProcessorReports(() => 0);
    const original = exfiltration();
    const partition = { partition: '0', engine: original.engine };
    original.run([...pair(0), ...pair(10)]);
    expect(reports.take([partition])).toMatchObject([{ alerts: 1, suppressed: 1 }]);
    // The rollback's engine ran the same batches again: those counts were reported already.
    const rebuilt = exfiltration();
    rebuilt.run([...pair(0), ...pair(10)]);
    partition.engine = rebuilt.engine;
    expect(reports.take([partition])).toEqual([]);
    rebuilt.run(pair(20));
    expect(reports.take([partition])).toMatchObject([{ alerts: 0, suppressed: 1 }]);
  });

  it('turns a webhook route’s final outcome into a delivery report, dead letters as failed', () => {
    const reports = new ProcessorReports(() => 0);
    const alert = makeAlert({});
    const at = Date.parse('2026-03-14T08:00:00.000Z');
    reports.outcome({
      sink: 'hooks.terminate_session',
      action: 'terminate_session',
      item: { kind: 'alert', alert },
      status: 'written',
      attempts: 2,
      httpStatus: 204,
      at,
    });
    reports.outcome({
      sink: 'backup.terminate_session',
      action: 'terminate_session',
      item: { kind: 'alert', alert },
      status: 'dead_lettered',
      attempts: 0,
      code: 'queue_full',
      reason: 'delivery queue full',
      at,
    });
    expect(reports.take([])).toEqual([
      {
        kind: 'action_delivery',
        alertId: alert.alertId,
        action: 'terminate_session',
        sink: 'hooks.terminate_session',
        status: 'delivered',
        attempts: 2,
        httpStatus: 204,
        detail: null,
        at: '2026-03-14T08:00:00.000Z',
      },
      {
        kind: 'action_delivery',
        alertId: alert.alertId,
        action: 'terminate_session',
        sink: 'backup.terminate_session',
        status: 'failed',
        attempts: 0,
        httpStatus: null,
        detail: 'dead-lettered (queue_full): delivery queue full',
        at: '2026-03-14T08:00:00.000Z',
      },
    ]);
    expect(reports.take([])).toEqual([]);
  });
});
