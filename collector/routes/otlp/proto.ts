import protobuf from 'protobufjs';

/*
 * The OTLP logs messages (opentelemetry-proto: collector/logs/v1, logs/v1, common/v1, resource/v1) and
 * google.rpc.Status, as protobufjs reflection: field names, numbers and types as the spec defines them.
 * Names are the JSON mapping's lowerCamelCase, so a decoded message reads like an OTLP/JSON one.
 */
const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const field = (type: string, id: number) => ({ type, id });

const root = protobuf.Root.fromJSON({
  nested: {
    ExportLogsServiceRequest: { fields: { resourceLogs: repeated('ResourceLogs', 1) } },
    ExportLogsServiceResponse: { fields: { partialSuccess: field('ExportLogsPartialSuccess', 1) } },
    ExportLogsPartialSuccess: {
      fields: { rejectedLogRecords: field('int64', 1), errorMessage: field('string', 2) },
    },
    ResourceLogs: {
      fields: {
        resource: field('Resource', 1),
        scopeLogs: repeated('ScopeLogs', 2),
        schemaUrl: field('string', 3),
      },
    },
    ScopeLogs: {
      fields: {
        scope: field('InstrumentationScope', 1),
        logRecords: repeated('LogRecord', 2),
        schemaUrl: field('string', 3),
      },
    },
    LogRecord: {
      fields: {
        timeUnixNano: field('fixed64', 1),
        // SeverityNumber is an enum; its values are read as the number they are on the wire.
        severityNumber: field('int32', 2),
        severityText: field('string', 3),
        body: field('AnyValue', 5),
        attributes: repeated('KeyValue', 6),
        droppedAttributesCount: field('uint32', 7),
        flags: field('fixed32', 8),
        traceId: field('bytes', 9),
        spanId: field('bytes', 10),
        observedTimeUnixNano: field('fixed64', 11),
        eventName: field('string', 12),
      },
    },
    AnyValue: {
      oneofs: {
        value: {
          oneof: [
            'stringValue',
            'boolValue',
            'intValue',
            'doubleValue',
            'arrayValue',
            'kvlistValue',
            'bytesValue',
          ],
        },
      },
      fields: {
        stringValue: field('string', 1),
        boolValue: field('bool', 2),
        intValue: field('int64', 3),
        doubleValue: field('double', 4),
        arrayValue: field('ArrayValue', 5),
        kvlistValue: field('KeyValueList', 6),
        bytesValue: field('bytes', 7),
      },
    },
    ArrayValue: { fields: { values: repeated('AnyValue', 1) } },
    KeyValueList: { fields: { values: repeated('KeyValue', 1) } },
    KeyValue: { fields: { key: field('string', 1), value: field('AnyValue', 2) } },
    Resource: {
      fields: { attributes: repeated('KeyValue', 1), droppedAttributesCount: field('uint32', 2) },
    },
    InstrumentationScope: {
      fields: {
        name: field('string', 1),
        version: field('string', 2),
        attributes: repeated('KeyValue', 3),
        droppedAttributesCount: field('uint32', 4),
      },
    },
    Status: {
      fields: { code: field('int32', 1), message: field('string', 2), details: repeated('Any', 3) },
    },
    Any: { fields: { typeUrl: field('string', 1), value: field('bytes', 2) } },
  },
}).resolveAll();

export const OtlpMessages = {
  ExportLogsServiceRequest: root.lookupType('ExportLogsServiceRequest'),
  ExportLogsServiceResponse: root.lookupType('ExportLogsServiceResponse'),
  ResourceLogs: root.lookupType('ResourceLogs'),
  ScopeLogs: root.lookupType('ScopeLogs'),
  LogRecord: root.lookupType('LogRecord'),
  Status: root.lookupType('Status'),
} as const;

/** Protobuf wire type of strings, bytes and embedded messages. */
const LENGTH_DELIMITED = 2;

/**
 * Calls `visit` with the encoded bytes of each `fieldName` message in `bytes` (a `type` message), without
 * decoding anything else: the library reads tags and lengths and skips the other fields, so what a request
 * holds is counted before any of it is materialized. Throws on a truncated or malformed message.
 */
export function forEachEmbedded(
  type: protobuf.Type,
  fieldName: string,
  bytes: Uint8Array,
  visit: (embedded: Uint8Array) => void,
): void {
  const { id } = type.fields[fieldName]!;
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === id && (tag & 7) === LENGTH_DELIMITED) visit(reader.bytes());
    else reader.skipType(tag & 7);
  }
}

/** How many messages one measure() may still read, shared over a request. */
export interface MessageBudget {
  remaining: number;
}

/**
 * Walks the messages nested in `bytes` read as `type`, without decoding them, and says which limit they
 * break first: nesting deeper than `maxDepth` messages, or more messages than the budget has left. One
 * reader over the record and no copies, so linear in its bytes; the recursion is at most `maxDepth` deep.
 * Throws on a malformed message.
 */
export function measure(
  type: protobuf.Type,
  bytes: Uint8Array,
  maxDepth: number,
  budget: MessageBudget,
): 'depth' | 'messages' | undefined {
  const reader = protobuf.Reader.create(bytes);
  const walk = (message: protobuf.Type, end: number, depth: number): 'depth' | 'messages' | undefined => {
    if (depth > maxDepth) return 'depth';
    if (--budget.remaining < 0) return 'messages';
    while (reader.pos < end) {
      const tag = reader.uint32();
      const nested = message.fieldsById[tag >>> 3]?.resolvedType;
      if (nested instanceof protobuf.Type && (tag & 7) === LENGTH_DELIMITED) {
        const nestedEnd = reader.uint32() + reader.pos;
        if (nestedEnd > end) throw new RangeError(`${nested.name} runs past its container`);
        const over = walk(nested, nestedEnd, depth + 1);
        if (over) return over;
      } else reader.skipType(tag & 7);
    }
    if (reader.pos !== end) throw new RangeError(`${message.name} runs past its container`);
    return undefined;
  };
  return walk(type, reader.len, 1);
}

/** Encodes `value` as a `type` message: bytes for a response body. */
export function encode(type: protobuf.Type, value: Record<string, unknown>): Buffer {
  const bytes = type.encode(type.fromObject(value)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
