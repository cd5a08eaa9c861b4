export { decodeBody, mediaType } from './body.ts';
export type { Candidate, CandidateError } from './candidate.ts';
export { isolated, malformed } from './candidate.ts';
export type { JsonRead } from './framing.ts';
export {
  forEachLine,
  parsed,
  readJson,
  splitConcatenated,
  splitDocument,
  splitLines,
  tooManyRecords,
} from './framing.ts';
export type {
  BatchSemantics,
  IngestError,
  IngestOutcome,
  IngestPipeline,
  RecordResult,
} from './pipeline.ts';
export { createIngestPipeline } from './pipeline.ts';
export type { Extracted, FramingLimits, IngestProtocol, ProtocolReply } from './protocol.ts';
export { edrErrorBody } from './protocol.ts';
export { rawBodyPlugin } from './raw-body.ts';
export type { IngestRouteDeps } from './routes.ts';
export { mountIngest, toEdrError } from './routes.ts';
