import { z } from 'zod';
import { commaList } from '../../core/config.ts';

/**
 * Where a configured field path may point: the parts of an event or alert that carry what agents wrote.
 * Objects are redacted key by key (a path below them), so a document keeps its shape.
 */
const FIELD_PATH =
  /^(?:target|summary|groupKey|decision\.(?:message|reason)|(?:data|metadata|enrichment)(?:\.[^.\s]+)+)$/;

const FieldPathSchema = z
  .string()
  .regex(
    FIELD_PATH,
    'target, summary, groupKey, decision.message, decision.reason, or a path below data., metadata. or enrichment. (* is any one key)',
  );

const DetectorNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and -');

export const RedactionConfigSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe('redact secrets in events and alerts before every sink and the alerts stream'),
    key: z
      .string()
      .min(16)
      .optional()
      .describe('HMAC-SHA256 key of the digests; processors writing to the same sinks must share it'),
    keyFile: z
      .string()
      .min(1)
      .default('./data/redaction-key')
      .describe('when `key` is unset: the key is read from this file, or created in it (random, mode 0600)'),
    detectorRules: commaList(z.string().min(1))
      .default(['SECRET_IN_WRITTEN_CONTENT'])
      .describe(
        'rules whose regex conditions are the secret detectors (default SECRET_IN_WRITTEN_CONTENT): from the loaded rules, else the bundled ones',
      ),
    patterns: z
      .record(DetectorNameSchema, z.string().min(1))
      .default({
        'aws-secret-access-key': `(?i)aws_?secret_?access_?key["']?\\s*[:=]\\s*["']?[A-Za-z0-9/+]{40}`,
      })
      .describe('more detectors, name → RE2 pattern; the whole match is redacted'),
    fields: commaList(FieldPathSchema)
      .default([])
      .describe('field paths whose whole value is redacted, e.g. data.env.*; also where alerts repeat them'),
    maxScanPerValue: z
      .int()
      .min(1_024)
      .default(65_536)
      .describe('characters of one string scanned; the rest of it is withheld behind an `unscanned` marker'),
    maxScanPerRecord: z
      .int()
      .min(1_024)
      .default(1_048_576)
      .describe('characters scanned per event or alert; strings past it are withheld behind `unscanned`'),
    maxDepth: z
      .int()
      .min(1)
      .default(32)
      .describe('nesting depth walked; anything deeper is withheld behind a `too-deep` marker'),
  })
  .prefault({})
  .describe(
    'secret redaction (transforms/): detected secrets become [REDACTED:<detector>:<keyed digest>]; a sink sees clear values only with `redact: false`',
  );

export type RedactionConfig = z.infer<typeof RedactionConfigSchema>;
