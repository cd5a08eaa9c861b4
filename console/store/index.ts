// The public API of console/store/: the server and the CLI import only this file.

import type { Client } from '@elastic/elasticsearch';
import type { Clock } from '../../core/clock.ts';
import type { ConsoleStoreConfig } from './config.ts';
import { ElasticsearchConsoleStore } from './elasticsearch.ts';
import { SqliteConsoleStore } from './sqlite.ts';
import type { ConsoleStore } from './types.ts';

export type { ConsoleStoreConfig, ConsoleStoreConfigInput } from './config.ts';
export { ConsoleStoreConfigSchema } from './config.ts';
export { ElasticsearchConsoleStore } from './elasticsearch.ts';
export { SqliteConsoleStore } from './sqlite.ts';
export * from './types.ts';

export interface ConsoleStoreDeps {
  clock?: Clock;
  /** A client to share (Elasticsearch); by default the store makes and closes its own. */
  elasticsearchClient?: Client;
}

/** Builds the store a parsed `ConsoleStoreConfigSchema` names; call `start()` before the first query. */
export function createConsoleStore(config: ConsoleStoreConfig, deps: ConsoleStoreDeps = {}): ConsoleStore {
  switch (config.type) {
    case 'sqlite':
      return new SqliteConsoleStore({
        path: config.path,
        pollIntervalMs: config.pollIntervalMs,
        clock: deps.clock,
      });
    case 'elasticsearch':
      return new ElasticsearchConsoleStore(config, { client: deps.elasticsearchClient, clock: deps.clock });
  }
}
