import type { Writable } from 'node:stream';
import type { Client } from '@elastic/elasticsearch';
import type { Clock } from '../core/clock.ts';
import type { SinkConfig, SinksConfig } from './config.ts';
import { type DeadLetterWriter, JsonlDeadLetterWriter } from './driver/dead-letter.ts';
import { ElasticsearchSink } from './elasticsearch/sink.ts';
import { FileSink } from './file/sink.ts';
import { SinkRouter } from './router.ts';
import { routeFor } from './shared/config.ts';
import { SplunkHecSink } from './splunk-hec/sink.ts';
import { SqliteSink } from './sqlite/sink.ts';
import { StdoutSink } from './stdout/sink.ts';
import { SuggestionsSink } from './suggestions/sink.ts';
import { ticketRoutes } from './ticket/sink.ts';
import type { Route, SinkLogger } from './types.ts';
import { webhookRoutes } from './webhook/sink.ts';

export interface SinkDeps {
  /** Replaces the JSONL dead-letter file (e.g. with a broker DLQ topic). */
  deadLetters?: DeadLetterWriter;
  /** Where sink failures, recoveries and dead letters are logged (the processor passes its logger). */
  log?: SinkLogger;
  elasticsearchClient?: Client;
  stdout?: Writable;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export function createRoutes(config: SinkConfig, deps: SinkDeps = {}): Route[] {
  switch (config.type) {
    case 'elasticsearch':
      return [
        routeFor(
          new ElasticsearchSink(config, { client: deps.elasticsearchClient, clock: deps.clock }),
          config,
        ),
      ];
    case 'splunk_hec':
      return [routeFor(new SplunkHecSink(config, { clock: deps.clock, sleep: deps.sleep }), config)];
    case 'webhook':
      return webhookRoutes(config, { clock: deps.clock });
    case 'file':
      return [routeFor(new FileSink(config), config)];
    case 'stdout':
      return [routeFor(new StdoutSink(config, deps.stdout), config)];
    case 'sqlite':
      return [routeFor(new SqliteSink(config, { log: deps.log, clock: deps.clock }), config)];
    case 'ticket':
      return ticketRoutes(config, { clock: deps.clock });
    case 'suggestions':
      return [routeFor(new SuggestionsSink(config, { clock: deps.clock }), config)];
  }
}

/** Builds the router from a parsed `SinksConfigSchema`; call `start()` on it before the first `deliver`. */
export function createSinkRouter(config: SinksConfig, deps: SinkDeps = {}): SinkRouter {
  return new SinkRouter(
    config.sinks.flatMap((sink) => createRoutes(sink, deps)),
    {
      deadLetters: deps.deadLetters ?? new JsonlDeadLetterWriter(config.deadLetter),
      log: deps.log,
      clock: deps.clock,
      sleep: deps.sleep,
      random: deps.random,
    },
  );
}
