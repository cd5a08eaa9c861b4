import { type Clock, systemClock } from '../../core/clock.ts';
import { EdrError } from '../../core/errors.ts';
import type { Alert, ResponseAction } from '../../engine/alert.ts';
import { outcomesOf } from '../driver/verdict.ts';
import { routeFor, tlsOptions } from '../shared/config.ts';
import { HttpClient, originOf } from '../shared/http.ts';
import { sendClassified } from '../shared/http-verdict.ts';
import type { ItemOutcome, Route, Sink, SinkItem } from '../types.ts';
import { CircuitBreakers } from './circuit-breaker.ts';
import type { WebhookSinkConfig, WebhookTarget } from './config.ts';
import { signedWebhookRequest } from './request-builder.ts';
import { classifyWebhookResponse } from './retry.ts';
import { compileUrlTemplate, renderUrl, type UrlTemplate } from './url-template.ts';

interface Shared {
  config: WebhookSinkConfig;
  client: HttpClient;
  breakers: CircuitBreakers;
  clock: Clock;
}

/** One response action's webhook: receives the alerts that ask for that action. */
export class WebhookActionSink implements Sink {
  readonly name: string;
  readonly guarantee = 'at-least-once';
  private readonly url: UrlTemplate;

  constructor(
    private readonly action: ResponseAction,
    private readonly target: WebhookTarget,
    private readonly shared: Shared,
  ) {
    this.name = `${shared.config.name ?? shared.config.type}.${action}`;
    const url = compileUrlTemplate(target.url, shared.config.vars);
    // The config schema already refused templates that do not compile.
    if (!url.ok) throw new EdrError('EDR_ERR_CONFIG', `${this.name}: url ${url.error}`);
    this.url = url.value;
  }

  /** Outcomes are reported (the console shows how each automated action ended). */
  get responseAction(): ResponseAction {
    return this.action;
  }

  accepts(item: SinkItem): boolean {
    return item.kind === 'alert' && item.alert.actions.includes(this.action);
  }

  write(items: readonly SinkItem[]): Promise<ItemOutcome[]> {
    return Promise.all(
      items.map((item) =>
        item.kind === 'alert'
          ? this.send(item.alert)
          : { status: 'permanent' as const, reason: 'webhooks take alerts only' },
      ),
    );
  }

  stats(): Record<string, unknown> {
    return { circuits: this.shared.breakers.snapshot() };
  }

  async close(): Promise<void> {
    this.shared.client.close();
  }

  /** Wiring only: URL (or a refusal at the alert) → circuit permit → signed request → send → classify. */
  private async send(alert: Alert): Promise<ItemOutcome> {
    const { config, client, breakers, clock } = this.shared;
    const rendered = renderUrl(this.url, alert, this.action, {
      maxBytes: config.maxUrlBytes,
      maxFieldBytes: config.maxUrlFieldBytes,
    });
    if (!rendered.ok) return { status: 'permanent', reason: `webhook URL refused: ${rendered.error}` };
    const url = rendered.value;
    const breaker = breakers.for(originOf(url));
    const permit = await breaker.acquire();
    if (!permit.allowed) {
      return {
        status: 'retryable',
        reason: `circuit open for ${originOf(url)}`,
        retryAfterMs: permit.retryAfterMs,
      };
    }
    const request = signedWebhookRequest({
      url,
      method: this.target.method,
      headers: this.target.headers,
      // Presence is enforced by the config schema.
      secret: (this.target.secret ?? config.secret)!,
      alert,
      action: this.action,
      timestamp: Math.floor(clock() / 1000),
      timeoutMs: this.target.timeoutMs,
    });
    let httpStatus: number | undefined;
    const verdict = await sendClassified(client, request, (response) => {
      httpStatus = response.status;
      return classifyWebhookResponse(response, clock());
    });
    if (verdict.action === 'retry') breaker.recordFailure();
    else breaker.recordSuccess();
    const outcome = outcomesOf(verdict, 1)[0]!;
    return httpStatus === undefined ? outcome : { ...outcome, httpStatus };
  }
}

export interface WebhookDeps {
  clock?: Clock;
}

/**
 * One detached route per configured action, sharing an HTTP client and the per-endpoint circuit breakers.
 * Detached: webhooks run on their own bounded queue and never push back on ingestion (docs/components.md).
 */
export function webhookRoutes(config: WebhookSinkConfig, deps: WebhookDeps = {}): Route[] {
  const clock = deps.clock ?? systemClock;
  const shared: Shared = {
    config,
    client: new HttpClient({
      timeoutMs: config.timeoutMs,
      tls: tlsOptions(config.tls),
      maxSockets: config.delivery.concurrency,
    }),
    breakers: new CircuitBreakers(config.circuitBreaker, clock),
    clock,
  };
  return Object.entries(config.actions).flatMap(([action, target]) =>
    target
      ? [
          routeFor(
            new WebhookActionSink(action as ResponseAction, target, shared),
            {
              kinds: ['alert'],
              minSeverity: config.minSeverity,
              redact: config.redact,
              delivery: config.delivery,
            },
            true,
          ),
        ]
      : [],
  );
}
