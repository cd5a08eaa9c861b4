import type { Alert, ResponseAction } from '../../engine/alert.ts';
import {
  createRoutes,
  type DeadLetter,
  type DeadLetterWriter,
  SinkRouter,
  type WebhookSinkConfig,
} from '../../sinks/index.ts';

export interface ResponseOutcome {
  status: 'delivered' | 'failed';
  detail: string;
}

/** Runs a response action for an alert now, as a user asked; what the console's manual response calls. */
export interface ResponseRunner {
  /** The actions a configured webhook target exists for. */
  readonly actions: readonly ResponseAction[];
  run(alert: Alert, action: ResponseAction, user: string, requestedAt: string): Promise<ResponseOutcome>;
  close(): Promise<void>;
}

/** Keeps the reason of each dead letter for the action's delivery status, and passes it on. */
class FailureNotes implements DeadLetterWriter {
  readonly reasons = new Map<string, string>();

  constructor(private readonly next: DeadLetterWriter | undefined) {}

  async write(letters: readonly DeadLetter[]): Promise<void> {
    for (const letter of letters) this.reasons.set(`${letter.sink}\n${letter.id}`, letter.reason);
    await this.next?.write(letters);
  }
}

/**
 * Manual response through the webhook sink the processor's automated actions use: the same routes (URL
 * templates, Standard Webhooks signatures, retries, circuit breakers, dead letters), fed one alert whose
 * `actions` is the one action asked for. The webhook id and Idempotency-Key are the sink's `<alertId>:<action>`,
 * so a receiver acts once per alert and action however often it is asked, automatically or by hand. The user
 * and time travel in `alert.enrichment.manualResponse`.
 */
export async function webhookResponseRunner(
  sinks: readonly WebhookSinkConfig[],
  deadLetters?: DeadLetterWriter,
): Promise<ResponseRunner> {
  const notes = new FailureNotes(deadLetters);
  const routes = sinks.flatMap((sink) => createRoutes(sink));
  const router = new SinkRouter(routes, { deadLetters: notes });
  await router.start();
  const actions = [...new Set(sinks.flatMap((sink) => Object.keys(sink.actions) as ResponseAction[]))].sort();
  return {
    actions,
    async run(alert, action, user, requestedAt) {
      const manual: Alert = {
        ...alert,
        actions: [action],
        enrichment: { ...alert.enrichment, manualResponse: { user, requestedAt } },
      };
      const report = await router.deliver({ alerts: [manual], clear: { alerts: [manual] } });
      const parts = Object.entries(report.routes).filter(
        ([, tally]) => tally.written + tally.duplicates + tally.deadLettered > 0,
      );
      const failed = parts.filter(([, tally]) => tally.deadLettered > 0);
      if (parts.length === 0) return { status: 'failed', detail: 'no webhook route took the action' };
      if (failed.length === 0)
        return { status: 'delivered', detail: `delivered by ${parts.map(([name]) => name).join(', ')}` };
      const detail = failed
        .map(([name]) => `${name}: ${notes.reasons.get(`${name}\n${alert.alertId}`) ?? 'dead-lettered'}`)
        .join('; ');
      return { status: 'failed', detail: detail.slice(0, 1_000) };
    },
    close: () => router.close(),
  };
}
