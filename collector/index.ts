export type { CollectorDeps } from './app.ts';
export { buildCollector } from './app.ts';
export type { ApiKey, CollectorConfig, CollectorConfigInputs, Scope, SourceConfig } from './config.ts';
export {
  ApiKeySchema,
  CollectorConfigSchema,
  loadCollectorConfig,
  SCOPES,
  SourceSchema,
} from './config.ts';
export { runCollector } from './server.ts';
