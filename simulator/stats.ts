import type { AttackName } from './attacks.ts';
import { WIRE_FORMATS, type WireFormat } from './formats.ts';
import type { SimRecord } from './simulation.ts';
import type { BatchOutcome } from './sink.ts';

const MAX_DISTINCT_ERRORS = 20;

/** What a run did, counted once per record whatever the number of attempts. */
export class RunStats {
  generated = 0;
  /** Records whose batch got a final answer (delivered or given up). */
  sent = 0;
  accepted = 0;
  rejected = 0;
  failed = 0;
  batches = 0;
  failedBatches = 0;
  retries = 0;
  readonly byFormat: Record<WireFormat, number> = Object.fromEntries(
    WIRE_FORMATS.map((f) => [f, 0]),
  ) as Record<WireFormat, number>;
  readonly attackEvents = new Map<AttackName, number>();
  private readonly errorCounts = new Map<string, number>();

  recordBatch(records: readonly SimRecord[], outcome: BatchOutcome): void {
    this.batches++;
    this.sent += records.length;
    this.accepted += outcome.accepted;
    this.rejected += outcome.rejected;
    this.failed += outcome.failed;
    if (outcome.failed > 0) this.failedBatches++;
    for (const { format, intent } of records) {
      this.byFormat[format]++;
      if (intent.attack)
        this.attackEvents.set(intent.attack, (this.attackEvents.get(intent.attack) ?? 0) + 1);
    }
    for (const error of outcome.errors) this.noteError(error);
  }

  noteRetry(reason: string): void {
    this.retries++;
    this.noteError(`retried: ${reason}`);
  }

  noteError(message: string): void {
    if (this.errorCounts.size >= MAX_DISTINCT_ERRORS && !this.errorCounts.has(message)) return;
    this.errorCounts.set(message, (this.errorCounts.get(message) ?? 0) + 1);
  }

  errors(): ReadonlyMap<string, number> {
    return this.errorCounts;
  }

  /** Most batches failed, or the target refused most records: the run did not do its job. */
  mostlyFailed(): boolean {
    return (
      (this.batches > 0 && this.failedBatches * 2 > this.batches) ||
      (this.sent > 0 && this.rejected * 2 > this.sent)
    );
  }
}

export type RunMode = 'send' | 'write';

export interface ProgressSnapshot {
  stats: RunStats;
  injections: ReadonlyMap<AttackName, number>;
  elapsedMs: number;
  /** Records per second over the last interval. */
  rate: number;
}

export function progressLine(
  { stats, injections, elapsedMs, rate }: ProgressSnapshot,
  mode: RunMode,
): string {
  const attacks = [...injections.values()].reduce((sum, count) => sum + count, 0);
  const counts =
    mode === 'send'
      ? `sent ${stats.sent} · accepted ${stats.accepted} · rejected ${stats.rejected} · retries ${stats.retries}`
      : `written ${stats.sent}`;
  return `${(elapsedMs / 1000).toFixed(0)}s · ${counts} · ${rate.toFixed(1)} ev/s · attacks injected ${attacks}`;
}

export function summaryText(snapshot: ProgressSnapshot, mode: RunMode, destination: string): string {
  const { stats, injections, elapsedMs } = snapshot;
  const seconds = elapsedMs / 1000;
  const perSecond = seconds > 0 ? stats.sent / seconds : 0;
  const lines = [
    mode === 'send'
      ? `sent        ${stats.sent} records to ${destination} in ${seconds.toFixed(1)} s (${perSecond.toFixed(1)}/s), ${stats.batches} batches`
      : `written     ${stats.sent} records to ${destination} (${seconds.toFixed(1)} s of event time)`,
  ];
  if (mode === 'send') {
    lines.push(
      `result      accepted ${stats.accepted}, rejected ${stats.rejected}, failed ${stats.failed} (${stats.failedBatches} batches), retries ${stats.retries}`,
    );
  }
  lines.push(`by format   ${WIRE_FORMATS.map((format) => `${format} ${stats.byFormat[format]}`).join(', ')}`);
  if (injections.size === 0) {
    lines.push('attacks     none injected');
  } else {
    lines.push('attacks     injected  events');
    const width = Math.max(...[...injections.keys()].map((name) => name.length));
    for (const [name, count] of [...injections].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(
        `  ${name.padEnd(width)}  ${String(count).padStart(6)}  ${String(stats.attackEvents.get(name) ?? 0).padStart(6)}`,
      );
    }
  }
  const errors = [...stats.errors()];
  if (errors.length === 0) lines.push('errors      none');
  else lines.push('errors', ...errors.map(([message, count]) => `  ${count} × ${message}`));
  return `${lines.join('\n')}\n`;
}
