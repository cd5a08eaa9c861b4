// The public API of sinks/: other folders import only this file.

export type { SinkConfig, SinksConfig, SinksConfigInput } from './config.ts';
export { DeadLetterConfigSchema, SinkConfigSchema, SinksConfigSchema } from './config.ts';
export type { DeadLetter, DeadLetterWriter, JsonlDeadLetterOptions } from './driver/dead-letter.ts';
export { JsonlDeadLetterWriter, MemoryDeadLetterWriter } from './driver/dead-letter.ts';
export type {
  ReplayOptions,
  ReplaySummary,
  StoredLetter,
  UnreadableLine,
} from './driver/dead-letter-replay.ts';
export {
  deadLetterFiles,
  emptySummary,
  ledgerPathFor,
  letterKey,
  RecordingDeadLetterWriter,
  ReplayLedger,
  readDeadLetters,
  replayDeadLetters,
} from './driver/dead-letter-replay.ts';
export type { ReportQueueStats } from './driver/reports.ts';
export type { ItemFinal, RouteHealth, RouteTally } from './driver/runner.ts';
export type { RetryVerdict } from './driver/verdict.ts';
export { outcomesOf } from './driver/verdict.ts';
export { createElasticsearchClient } from './elasticsearch/client.ts';
export type { ElasticsearchSinkConfig } from './elasticsearch/config.ts';
export { ElasticsearchSinkConfigSchema } from './elasticsearch/config.ts';
export type { EcsDocument, IndexDayRange } from './elasticsearch/documents.ts';
export {
  alertDocument,
  documentId,
  ECS_VERSION,
  eventDocument,
  indexFor,
  indexName,
} from './elasticsearch/documents.ts';
export { ensureReportIndices, reportIndex } from './elasticsearch/reports.ts';
export type { IndexKind, TemplateOptions } from './elasticsearch/templates.ts';
export {
  alertsDataStream,
  INDEX_KINDS,
  indexTemplate,
  installTemplates,
  TEMPLATE_FIELDS,
  TEMPLATE_VERSION,
} from './elasticsearch/templates.ts';
export type { SinkDeps } from './factory.ts';
export { createRoutes, createSinkRouter } from './factory.ts';
export type { FileSinkConfig } from './file/config.ts';
export { FileSinkConfigSchema } from './file/config.ts';
export type { SinkMetricsSource } from './metrics.ts';
export { registerSinkMetrics } from './metrics.ts';
export type {
  DeliveryBatch,
  DeliveryReport,
  Dispatched,
  RouterHealth,
  RouteStats,
  SinkRouterOptions,
} from './router.ts';
export { SinkRouter } from './router.ts';
export type { SplunkHecSinkConfig } from './splunk-hec/config.ts';
export { SplunkHecSinkConfigSchema } from './splunk-hec/config.ts';
export type { SqliteSinkConfig } from './sqlite/config.ts';
export { SqliteSinkConfigSchema } from './sqlite/config.ts';
export { MAX_SEARCH_CHARS, searchText } from './sqlite/request-builder.ts';
export type { OpenOptions as ConsoleDatabaseOptions } from './sqlite/schema.ts';
export { CONSOLE_SCHEMA_VERSION, openConsoleDatabase } from './sqlite/schema.ts';
export type { StdoutSinkConfig } from './stdout/config.ts';
export { StdoutSinkConfigSchema } from './stdout/config.ts';
export type { SuggestionsSinkConfig } from './suggestions/config.ts';
export { SuggestionsSinkConfigSchema } from './suggestions/config.ts';
export type { TicketSinkConfig, TicketTarget } from './ticket/config.ts';
export { TicketSinkConfigSchema } from './ticket/config.ts';
export type {
  DeliveryGuarantee,
  DeliveryPolicy,
  ItemKind,
  ItemOutcome,
  ProbeResult,
  RetryPolicy,
  Route,
  Sink,
  SinkItem,
  SinkLogger,
} from './types.ts';
export { ITEM_KINDS, itemId, itemSeverity, itemTimestamp, SILENT_LOGGER } from './types.ts';
export type { CircuitState, CircuitStats } from './webhook/circuit-breaker.ts';
export type { WebhookSinkConfig, WebhookTarget } from './webhook/config.ts';
export { WebhookSinkConfigSchema } from './webhook/config.ts';
export type {
  VerifyWebhookSignatureInput,
  WebhookRejection,
  WebhookVerification,
} from './webhook/signature.ts';
export {
  DEFAULT_TOLERANCE_SECONDS,
  ID_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
  webhookPublicKey,
} from './webhook/signature.ts';
