export type { CollectorDeps } from './app.ts';
export { buildCollector } from './app.ts';
export type { ApiKey, CollectorConfig, CollectorConfigInputs, Scope, SourceConfig } from './config.ts';
export {
  ApiKeySchema,
  CollectorConfigSchema,
  ENV_PREFIX,
  loadCollectorConfig,
  SCOPES,
  SourceSchema,
} from './config.ts';
export type { ConfigInputs, ConfigOverride } from './config-loader.ts';
export { loadConfig } from './config-loader.ts';
export { runCollector } from './server.ts';
