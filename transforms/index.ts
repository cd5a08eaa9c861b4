// The public API of transforms/: what runs between detection and delivery (Vector's sources → transforms →
// sinks). Depends on core/ and engine/ only; the processor and the CLI import this file.

export type { RedactionConfig } from './redaction/config.ts';
export { RedactionConfigSchema } from './redaction/config.ts';
export type { RedactionKeyOrigin } from './redaction/key.ts';
export { loadRedactionKey } from './redaction/key.ts';
export type {
  RedactedBatch,
  RedactionInput,
  RedactionStats,
  RedactorOptions,
} from './redaction/redactor.ts';
export { Redactor } from './redaction/redactor.ts';
