import { type Clock, systemClock } from '../../core/clock.ts';
import { EdrError } from '../../core/errors.ts';
import type { Alert } from '../../engine/alert.ts';
import { routeFor, tlsOptions } from '../shared/config.ts';
import { HttpClient } from '../shared/http.ts';
import type { ItemOutcome, Route, Sink, SinkItem } from '../types.ts';
import type { TicketApi } from './api.ts';
import type { TicketSinkConfig } from './config.ts';
import { githubApi } from './github.ts';
import { jiraApi } from './jira.ts';
import { resolveSecret, type Secret } from './secret.ts';
import { TicketService } from './service.ts';
import { TicketState } from './state.ts';
import { templateApi } from './template.ts';

/** Alert ids the state file remembers as handled, per tracked group on average. */
const ALERTS_PER_GROUP = 5;

export interface TicketSinkDeps {
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
}

/**
 * Opens one ticket per alert group and comments on it for each later alert of the group. Wiring only:
 * the state file, the target's request builders and classifier (github.ts, jira.ts, template.ts) and the
 * service that sequences them (service.ts); retries and dead letters are the shared driver's.
 */
export class TicketSink implements Sink {
  readonly name: string;
  readonly guarantee = 'at-least-once';
  private state: TicketState | undefined;
  private service: TicketService | undefined;
  /** Alerts are handled one at a time, in order, so two alerts of one group never both open a ticket. */
  private serial: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: TicketSinkConfig,
    private readonly api: TicketApi,
    private readonly secrets: readonly Secret[],
    private readonly client: HttpClient,
    private readonly clock: Clock = systemClock,
  ) {
    this.name = config.name ?? config.type;
  }

  accepts(item: SinkItem): boolean {
    const { actions } = this.config;
    return (
      item.kind === 'alert' && (!actions || item.alert.actions.some((action) => actions.includes(action)))
    );
  }

  async start(): Promise<void> {
    const maxGroups = this.config.maxTrackedGroups;
    this.state = await TicketState.open(this.config.stateFile ?? `./data/tickets-${this.name}.jsonl`, {
      maxGroups,
      maxAlerts: maxGroups * ALERTS_PER_GROUP,
    });
    this.service = new TicketService(
      this.config,
      this.api,
      this.state,
      this.secrets,
      this.client,
      this.clock,
    );
  }

  async write(items: readonly SinkItem[]): Promise<ItemOutcome[]> {
    const outcomes: ItemOutcome[] = [];
    for (const item of items) {
      const run = this.serial.then(() =>
        item.kind === 'alert'
          ? this.handle(item.alert)
          : { status: 'permanent' as const, reason: 'tickets take alerts only' },
      );
      this.serial = run.catch(() => undefined);
      outcomes.push(await run);
    }
    return outcomes;
  }

  stats(): Record<string, unknown> {
    return { ...this.service?.counts, ...this.state?.stats() };
  }

  async close(): Promise<void> {
    await this.state?.close();
    this.client.close();
  }

  private handle(alert: Alert): Promise<ItemOutcome> {
    if (!this.service) throw new EdrError('EDR_ERR_SINK_RETRYABLE', `${this.name}: not started`);
    return this.service.handle(alert);
  }
}

/** The ticket sink's one detached route: tickets, like webhooks, never hold back ingestion. */
export function ticketRoutes(config: TicketSinkConfig, deps: TicketSinkDeps = {}): Route[] {
  const name = config.name ?? config.type;
  const { api, secrets } = ticketApi(config, name, deps.env ?? process.env);
  const client = new HttpClient({ timeoutMs: config.timeoutMs, tls: tlsOptions(config.tls), maxSockets: 2 });
  const sink = new TicketSink(config, api, secrets, client, deps.clock);
  return [
    routeFor(
      sink,
      { kinds: ['alert'], minSeverity: config.minSeverity, redact: config.redact, delivery: config.delivery },
      true,
    ),
  ];
}

function ticketApi(
  config: TicketSinkConfig,
  name: string,
  env: NodeJS.ProcessEnv,
): { api: TicketApi; secrets: Secret[] } {
  const { target } = config;
  const missing = (what: string) => new EdrError('EDR_ERR_CONFIG', `${name}: ${what} is not set`);
  switch (target.kind) {
    case 'github': {
      const token = resolveSecret(target.token, target.tokenEnv, env);
      if (!token) throw missing(`target.token or the environment variable ${target.tokenEnv}`);
      return { api: githubApi(target, token), secrets: [token] };
    }
    case 'jira': {
      const token = resolveSecret(target.apiToken, target.apiTokenEnv, env);
      if (!token) throw missing(`target.apiToken or the environment variable ${target.apiTokenEnv}`);
      return { api: jiraApi(target, token), secrets: [token] };
    }
    case 'template': {
      const secrets: Secret[] = [];
      const headers = (names: Record<string, string>) =>
        Object.fromEntries(
          Object.entries(names).map(([header, variable]) => {
            const secret = resolveSecret(undefined, variable, env);
            if (!secret) throw missing(`the environment variable ${variable} (header ${header})`);
            secrets.push(secret);
            return [header, secret.reveal()];
          }),
        );
      const api = templateApi(
        target,
        {
          create: headers(target.create.secretHeaders),
          comment: headers(target.comment?.secretHeaders ?? {}),
        },
        config.maxFieldChars,
      );
      return { api, secrets };
    }
  }
}
