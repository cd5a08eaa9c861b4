import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import type { ActionDeliveryReport, Report, RuleCountsReport } from '../core/reports.ts';
import type { DetectionEngine } from '../engine/index.ts';
import type { ItemFinal } from '../sinks/index.ts';
import type { PartitionEngine } from './partition-engines.ts';

/** What a report reads of a partition's engine handle (the handle stays while rollbacks replace its engine). */
export type CountedPartition = Pick<PartitionEngine, 'partition' | 'engine'>;

/** Delivery outcomes held between two reports; past it the oldest are dropped (a flood of alerts). */
const MAX_HELD_DELIVERIES = 10_000;

type Totals = Readonly<Record<string, number>>;

interface Seen {
  engine: DetectionEngine;
  alerts: Totals;
  suppressed: Totals;
}

/**
 * What the processor reports to the console stores (core/reports.ts): each partition's rule counts since
 * the previous report, and how each automated response webhook ended. The engine counts alerts and
 * suppressions per rule in memory (engine/rule-counts.ts); this takes the difference since the last report,
 * so the engine stays free of I/O and clocks.
 * Counts are not checkpointed: a partition's engine that was restored, or rebuilt by a rollback, starts a new
 * count, and what the replaced engine counted since its last report is not reported (docs/components.md).
 */
export class ProcessorReports {
  /** Report ids are unique per process, so two processors that held a partition in turn never collide. */
  readonly #instance = randomUUID();
  #sequence = 0;
  readonly #seen = new WeakMap<CountedPartition, Seen>();
  #deliveries: ActionDeliveryReport[] = [];

  constructor(private readonly clock: Clock) {}

  /** The router's outcome listener: keeps how an alert's webhook ended for the next report. */
  readonly outcome = (final: ItemFinal): void => {
    if (final.item.kind !== 'alert') return;
    const failure = final.code
      ? `dead-lettered (${final.code}): ${final.reason ?? ''}`.slice(0, 1_000)
      : null;
    this.#deliveries.push({
      kind: 'action_delivery',
      alertId: final.item.alert.alertId,
      action: final.action,
      sink: final.sink,
      status: final.status === 'dead_lettered' ? 'failed' : 'delivered',
      attempts: final.attempts,
      httpStatus: final.httpStatus ?? null,
      detail: failure,
      at: new Date(final.at).toISOString(),
    });
    if (this.#deliveries.length > MAX_HELD_DELIVERIES) this.#deliveries.shift();
  };

  /** Everything to report now: the held deliveries, then each partition's counts since its last report. */
  take(partitions: readonly CountedPartition[]): Report[] {
    const reports: Report[] = this.#deliveries;
    this.#deliveries = [];
    const sequence = this.#sequence++;
    for (const partition of partitions) reports.push(...this.#counts(partition, sequence));
    return reports;
  }

  #counts(partition: CountedPartition, sequence: number): RuleCountsReport[] {
    const { engine } = partition;
    const stats = engine.stats();
    const before = this.#seen.get(partition);
    // A rebuilt engine (rollback) counted its replayed batches again: its counts so far are not new.
    const counted = before === undefined || before.engine === engine;
    this.#seen.set(partition, { engine, alerts: stats.alertsByRule, suppressed: stats.suppressedByRule });
    if (!counted) return [];
    const at = stats.eventTime ?? new Date(this.clock()).toISOString();
    const rules = new Set([...Object.keys(stats.alertsByRule), ...Object.keys(stats.suppressedByRule)]);
    const reports: RuleCountsReport[] = [];
    for (const ruleId of rules) {
      const alerts = since(stats.alertsByRule, before?.alerts, ruleId);
      const suppressed = since(stats.suppressedByRule, before?.suppressed, ruleId);
      if (alerts === 0 && suppressed === 0) continue;
      const id = `${this.#instance}:${partition.partition}:${sequence}:${ruleId}`;
      reports.push({
        kind: 'rule_counts',
        id,
        ruleId,
        partition: partition.partition,
        at,
        alerts,
        suppressed,
      });
    }
    return reports;
  }
}

function since(now: Totals, before: Totals | undefined, ruleId: string): number {
  return Math.max(0, (now[ruleId] ?? 0) - (before?.[ruleId] ?? 0));
}
