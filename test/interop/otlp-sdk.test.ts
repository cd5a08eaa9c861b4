import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import type { AnyValueMap } from '@opentelemetry/api-logs';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtobufLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  expectOnceEach,
  KEYS,
  kafkaCollectors,
  landed,
  type OtlpCollector,
  samples,
} from './otlp-support.ts';

/*
 * The OpenTelemetry JS SDK, unmodified: a LoggerProvider with a BatchLogRecordProcessor and the OTLP/HTTP
 * exporters (JSON and protobuf, plain and gzipped), against a collector on the real Kafka transport. What
 * landed on the topic is counted by event id.
 */

const EXPORTERS = {
  'http/json': JsonLogExporter,
  'http/protobuf': ProtobufLogExporter,
} as const;
type Encoding = keyof typeof EXPORTERS;

const CASES = (Object.keys(EXPORTERS) as Encoding[]).flatMap((encoding) =>
  (['none', 'gzip'] as const).map((compression) => ({ encoding, compression })),
);

/** The exporter, with every export's result kept: what the SDK itself was told. */
class RecordingExporter implements LogRecordExporter {
  readonly results: ExportResult[] = [];
  constructor(private readonly inner: LogRecordExporter) {}
  export(logs: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    this.inner.export(logs, (result) => {
      this.results.push(result);
      done(result);
    });
  }
  shutdown = () => this.inner.shutdown();
  forceFlush = () => this.inner.forceFlush();
}

/** What the SDK reports through its diagnostic logger (a partial success is a warning there). */
const warnings: string[] = [];
const recorder: DiagLogger = {
  error: (...args) => warnings.push(args.map(String).join(' ')),
  warn: (...args) => warnings.push(args.map(String).join(' ')),
  info: () => {},
  debug: () => {},
  verbose: () => {},
};

function sdk(collector: OtlpCollector, encoding: Encoding, compression: 'none' | 'gzip') {
  const exporter = new RecordingExporter(
    new EXPORTERS[encoding]({
      url: collector.logsUrl,
      headers: { authorization: `Bearer ${KEYS.ingest}` },
      // The exporters' type is an enum whose values are these strings.
      compression: compression as never,
    }),
  );
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'otlp-interop' }),
    processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 60_000 })],
  });
  return { exporter, provider, logger: provider.getLogger('clawdstrike-edr-interop') };
}

const asMap = (record: object) => record as AnyValueMap;

describe('OpenTelemetry JS SDK log exporters → collector → Kafka', () => {
  const open = kafkaCollectors();
  let collector: OtlpCollector;
  let strict: OtlpCollector;
  beforeAll(async () => {
    collector = await open();
    // Two records a request at most: a batch of three is refused as a whole.
    strict = await open({ ingest: { maxRecordsPerRequest: 2 } });
    diag.setLogger(recorder, DiagLogLevel.WARN);
  });
  afterEach(() => {
    warnings.length = 0;
  });

  it.each(CASES)(
    '$encoding ($compression): PolicyEvents and hushd records in the body (text, map) and the attributes all land, once each',
    async ({ encoding, compression }) => {
      const id = (name: string) => `${encoding}-${compression}-${name}`;
      const { exporter, provider, logger } = sdk(collector, encoding, compression);
      const policyText = samples.policyEvent(id('policy-body-text'), 'agent-otel');
      const policyMap = samples.policyEvent(id('policy-body-map'), 'agent-otel');
      const policyAttribute = samples.policyEvent(id('policy-attribute'), 'agent-otel');
      const auditText = samples.auditEvent(id('audit-body-text'), 'agent-hushd');
      const auditMap = samples.auditEvent(id('audit-body-map'), 'agent-hushd');
      const auditAttribute = samples.auditEvent(id('audit-attribute'), 'agent-hushd');
      logger.emit({ body: JSON.stringify(policyText), severityText: 'INFO' });
      logger.emit({ body: asMap(policyMap) });
      logger.emit({
        body: 'policy event',
        attributes: { 'hush.audit.raw_json': JSON.stringify(policyAttribute) },
      });
      logger.emit({ body: JSON.stringify(auditText) });
      logger.emit({ body: asMap(auditMap) });
      logger.emit({ attributes: { 'hush.audit.raw_json': JSON.stringify(auditAttribute) } });
      // hushd's field-per-attribute form; the record's time stands in for the missing timestamp.
      logger.emit({
        timestamp: new Date('2026-11-25T17:41:07.000Z'),
        body: 'Access to forbidden path',
        attributes: {
          'hush.audit.id': id('audit-fields'),
          'hush.audit.event_type': 'violation',
          'hush.audit.action_type': 'file_access',
          'hush.audit.target': '/home/alice/.ssh/id_rsa',
          'hush.audit.decision': 'blocked',
          'hush.audit.agent_id': 'agent-hushd',
        },
      });
      await provider.forceFlush();
      await provider.shutdown();

      expect(exporter.results.map((result) => result.code)).toEqual([ExportResultCode.SUCCESS]);
      expect(warnings).toEqual([]);
      const ids = [
        'policy-body-text',
        'policy-body-map',
        'policy-attribute',
        'audit-body-text',
        'audit-body-map',
        'audit-attribute',
        'audit-fields',
      ].map(id);
      expectOnceEach(await landed(collector.transport, id(''), ids), ids);
    },
  );

  it.each(CASES)(
    '$encoding ($compression): a refused record is a partial success the SDK reports, and its siblings land',
    async ({ encoding, compression }) => {
      const id = (name: string) => `${encoding}-${compression}-partial-${name}`;
      const { exporter, provider, logger } = sdk(collector, encoding, compression);
      logger.emit({ body: asMap(samples.policyEvent(id('first'))) });
      logger.emit({ body: asMap({ hello: 'not an event' }) });
      logger.emit({ body: JSON.stringify(samples.auditEvent(id('third'))) });
      await provider.forceFlush();
      await provider.shutdown();

      expect(exporter.results.map((result) => result.code)).toEqual([ExportResultCode.SUCCESS]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^Received Partial Success response: /);
      const partial = JSON.parse(warnings[0]!.slice(warnings[0]!.indexOf('{'))) as Record<string, unknown>;
      // The JSON response writes the int64 as a string, the protobuf one decodes to a number.
      expect(Number(partial.rejectedLogRecords)).toBe(1);
      expect(partial.errorMessage).toMatch(/^\[1\] /);
      expectOnceEach(await landed(collector.transport, id(''), [id('first'), id('third')]), [
        id('first'),
        id('third'),
      ]);
    },
  );

  it.each(CASES)(
    '$encoding ($compression): a request the collector refuses fails the export, and nothing of it lands',
    async ({ encoding, compression }) => {
      const id = (name: string) => `${encoding}-${compression}-refused-${name}`;
      const { exporter, provider, logger } = sdk(strict, encoding, compression);
      for (const name of ['a', 'b', 'c']) logger.emit({ body: asMap(samples.policyEvent(id(name))) });
      await provider.forceFlush();
      await provider.shutdown();

      expect(exporter.results).toHaveLength(1);
      const [result] = exporter.results;
      expect(result!.code).toBe(ExportResultCode.FAILED);
      expect(result!.error).toMatchObject({ name: 'OTLPExporterError', code: 413 });
      // A record of another batch, sent after, lands alone: the three before it were not published.
      const after = sdk(strict, encoding, compression);
      after.logger.emit({ body: asMap(samples.policyEvent(id('after'))) });
      await after.provider.shutdown();
      expect(after.exporter.results.map((done) => done.code)).toEqual([ExportResultCode.SUCCESS]);
      expectOnceEach(await landed(strict.transport, id(''), [id('after')]), [id('after')]);
    },
  );
});
