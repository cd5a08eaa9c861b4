import {
  edrErrorBody,
  type IngestProtocol,
  mediaType,
  splitDocument,
  splitLines,
} from '../../ingest/index.ts';
import { type IngestResponse, JSON_MEDIA_TYPES, NDJSON_MEDIA_TYPES } from './schema.ts';

const NDJSON: ReadonlySet<string> = new Set(NDJSON_MEDIA_TYPES);

/** Records as a JSON object, a JSON array or NDJSON, any wire format mixed; answered 202 with a per-record report. */
export function jsonProtocol(name: string): IngestProtocol {
  return {
    name,
    mediaTypes: JSON_MEDIA_TYPES,
    extract(text, request, { maxRecords }) {
      const type = mediaType(request.headers);
      const candidates =
        type !== undefined && NDJSON.has(type)
          ? splitLines(text, maxRecords)
          : splitDocument(text, maxRecords);
      return { candidates, context: undefined };
    },
    reply({ accepted, rejected, errors }) {
      const body: IngestResponse = { accepted, rejected, errors };
      return { status: 202, body };
    },
    fail: edrErrorBody,
  };
}
