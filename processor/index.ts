export type { ProcessorConfig, ProcessorSettings } from './config.ts';
export { ProcessorConfigSchema, ProcessorSettingsSchema } from './config.ts';
export { decodeEvent } from './decode.ts';
export type { ProcessorDeps } from './processor.ts';
export { DLQ_HEADERS, Processor } from './processor.ts';
