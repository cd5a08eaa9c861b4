// The public API of setup/: what `clawdstrike-edr setup` does, usable from other entry points and tests.

export type { SetupConfig, SetupFlags, SetupSettings } from './config.ts';
export { loadSetupConfig, SetupConfigSchema, SetupSettingsSchema } from './config.ts';
export type { ElasticsearchTarget } from './elasticsearch.ts';
export { elasticsearchTarget } from './elasticsearch.ts';
export type { SetupStep } from './errors.ts';
export { SETUP_STEPS, SetupError } from './errors.ts';
export type { ImportSummary, KibanaAuth, KibanaOptions, KibanaStatus } from './kibana.ts';
export { importSavedObjects, kibanaStatus, waitForKibana } from './kibana.ts';
export type { SetupDeps, SetupOptions } from './run.ts';
export { runSetup } from './run.ts';
export type { SavedObjectBundle } from './saved-objects.ts';
export { defaultDashboardsDir, readSavedObjects } from './saved-objects.ts';
