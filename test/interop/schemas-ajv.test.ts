/**
 * Issue 14, item 9: the published JSON Schemas under ajv strict (ajv 8 + ajv-formats, the Ajv class of the
 * draft each file declares), and the PolicyEvent schema accepting exactly what the collector accepts: the
 * fixture corpora, their snake_case spellings and generated records (fast-check) go to both the compiled
 * schema and parseRecord, which must agree on every one. The generated records keep to what a JSON Schema can
 * describe: a valid event time (parseRecord also judges its age against the arrival) and small values (the
 * record limits are configuration, not schema), and each field spelled once (camelCase or its alias).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type AnySchemaObject } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { samples } from '../../collector/test/support.ts';
import { detectFormat, EVENT_TYPES, parseRecord, type SourceFormat } from '../../engine/index.ts';
import {
  DATA_SCHEMAS,
  DATA_TYPE_BY_EVENT_TYPE,
  POLICY_EVENT_ALIASES,
} from '../../engine/model/inputs/policy-event.ts';
import { REPO_ROOT, sharedPath } from '../support/shared.ts';

const SCHEMAS_DIR = join(REPO_ROOT, 'schemas');
const DRAFT_2020 = 'https://json-schema.org/draft/2020-12/schema';
const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

function compile(file: string) {
  const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as AnySchemaObject;
  const ajv = schema.$schema === DRAFT_2020 ? new Ajv2020({ strict: true }) : new Ajv({ strict: true });
  // ajv-formats is CommonJS: its plugin is the module's `default` (also the module itself).
  ajvFormats.default(ajv);
  return ajv.compile(schema);
}

const TIME = '2026-03-02T10:00:00.000Z';
const accepted = (record: unknown) => parseRecord(record, { format: 'policy_event', receivedAt: TIME }).ok;

describe('published JSON Schemas under ajv strict', () => {
  const files = readdirSync(SCHEMAS_DIR).filter((file) => file.endsWith('.json'));

  it.each(files)('%s compiles with new Ajv({strict: true}) and ajv-formats', (file) => {
    const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as AnySchemaObject;
    expect([DRAFT_2020, DRAFT_07]).toContain(schema.$schema);
    expect(() => compile(file)).not.toThrow();
  });

  it('declares no format ajv-formats does not know (base64 is a pattern with contentEncoding)', () => {
    for (const file of files)
      expect(readFileSync(join(SCHEMAS_DIR, file), 'utf8')).not.toContain('"base64"}');
    expect(readFileSync(join(SCHEMAS_DIR, 'policy-event.v1.schema.json'), 'utf8')).toContain(
      '"contentEncoding": "base64"',
    );
  });
});

/** camelCase name → snake_case alias. */
const ALIAS_OF = new Map(Object.entries(POLICY_EVENT_ALIASES).map(([alias, field]) => [field, alias]));

/** The record with every aliased key of the event, its data and its metadata spelled snake_case. */
function snakeCase(record: Record<string, unknown>): Record<string, unknown> {
  const rename = (object: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(object).map(([key, value]) => [ALIAS_OF.get(key) ?? key, value]));
  const out = rename(record);
  for (const nested of ['data', 'metadata']) {
    const value = out[nested];
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      out[nested] = rename(value as Record<string, unknown>);
    }
  }
  return out;
}

function jsonLines(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('policy-event.v1.schema.json accepts exactly what parseRecord accepts', () => {
  const validate = compile('policy-event.v1.schema.json');
  const verdicts = (record: unknown) => ({ schema: validate(record), collector: accepted(record) });

  const upstream = sharedPath('fixtures', 'upstream');
  const corpus = [
    ...jsonLines(join(upstream, 'policy-events', 'events.jsonl')),
    ...jsonLines(join(upstream, 'threat-intel', 'events.jsonl')),
    samples.policyEvent('evt-sample'),
  ].map((record) => ({ ...record, timestamp: TIME }));

  it('agrees on the fixture corpora, camelCase and snake_case, all accepted', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(17);
    for (const record of [...corpus, ...corpus.map(snakeCase)]) {
      expect({ record, ...verdicts(record) }).toEqual({ record, schema: true, collector: true });
    }
  });

  it('a snake_case record without its id under either name is refused by both', () => {
    const snake = snakeCase(corpus[0]!);
    expect(Object.keys(snake)).toContain('event_id');
    expect(verdicts(snake)).toEqual({ schema: true, collector: true });
    const { event_id: _id, ...withoutId } = snake;
    expect(verdicts(withoutId)).toEqual({ schema: false, collector: false });
  });

  // Values per field: valid ones and the wrong kinds a sender gets wrong.
  const odd = fc.constantFrom<unknown>(null, 5, '', {}, [], true);
  /** Mostly `valid`, sometimes a wrong kind of value. */
  const mostly = (valid: fc.Arbitrary<unknown>) =>
    fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: odd });
  const text = mostly(fc.constantFrom('x', '/home/a/.ssh/id_rsa', 'api.example'));
  const FIELD_VALUES: Record<string, fc.Arbitrary<unknown>> = {
    path: text,
    host: text,
    command: text,
    filePath: text,
    toolName: text,
    secretName: text,
    scope: text,
    customType: text,
    workingDir: text,
    protocol: text,
    url: text,
    content: text,
    patchContent: fc.oneof(fc.constant('@@ -1 +1 @@'), odd),
    port: fc.oneof(fc.constantFrom<unknown>(1, 443, 65535, 0, 65536, 1.5, '443'), odd),
    operation: fc.oneof(fc.constantFrom<unknown>('read', 'write', 'delete'), odd),
    contentHash: fc.oneof(
      fc.constantFrom(`sha256:${'ab'.repeat(32)}`, 'md5:00', `sha256:${'g'.repeat(64)}`),
      odd,
    ),
    contentBase64: fc.oneof(fc.constantFrom('aGVsbG8=', 'aGVsbG8', 'not base64!', 'aGk='), odd),
    args: fc.oneof(fc.constantFrom<unknown>(['-la'], [1], ['a', null]), odd),
    parameters: fc.oneof(fc.constant<unknown>({ a: 1 }), odd),
  };
  const dataType = fc.oneof(fc.constantFrom(...Object.keys(DATA_SCHEMAS), 'llm'), odd);
  /** The required fields of each data type, valid: most generated data starts from them. */
  const REQUIRED: Record<string, Record<string, unknown>> = {
    file: { path: '/home/a/.env' },
    network: { host: 'api.example', port: 443 },
    command: { command: 'ls' },
    patch: { filePath: 'src/a.ts', patchContent: '' },
    tool: { toolName: 'read_file' },
    secret: { secretName: 'AWS_KEY', scope: 'env' },
    custom: { customType: 'model_call' },
  };
  const data = fc
    .record({
      type: dataType,
      complete: fc.boolean(),
      fields: fc.dictionary(fc.constantFrom(...Object.keys(FIELD_VALUES)), fc.constant(null), { maxKeys: 3 }),
    })
    .chain(({ type, complete, fields }) =>
      fc
        .tuple(
          ...Object.keys(fields).map((field) => FIELD_VALUES[field]!.map((value) => [field, value] as const)),
        )
        .map((entries) => ({
          type,
          ...(complete && typeof type === 'string' ? REQUIRED[type] : {}),
          ...Object.fromEntries(entries),
        })),
    );
  const decision = mostly(
    fc.constantFrom<unknown>(
      { allowed: false, guard: 'forbidden_path', severity: 'high' },
      { allowed: true, warn: true },
      { status: 'deny', reason: 'r' },
      { status: 'maybe' },
      { allowed: 'no' },
    ),
  );
  const metadata = mostly(
    fc.constantFrom<unknown>(
      { source: 'cli', agentId: 'agent-1' },
      { traceId: 't', toolKind: 'mcp' },
      { agentId: 5 },
    ),
  );
  const optional = <T>(value: fc.Arbitrary<T>) => fc.option(value, { nil: undefined });
  const policyEvent = fc
    .record({
      eventId: fc.oneof(
        { weight: 9, arbitrary: mostly(fc.constant('evt-1')) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      eventType: fc.oneof(
        { weight: 9, arbitrary: mostly(fc.constantFrom(...EVENT_TYPES, 'model_call')) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      timestamp: fc.constantFrom<unknown>(TIME, Date.parse(TIME)),
      sessionId: optional(text),
      agentId: optional(text),
      runId: optional(text),
      policyHash: optional(text),
      data: fc.oneof(
        { weight: 18, arbitrary: data },
        { weight: 1, arbitrary: odd },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      decision: optional(decision),
      metadata: optional(metadata),
      context: optional(fc.oneof(fc.constant<unknown>({ cwd: '/' }), odd)),
    })
    // A known eventType gets its own data type most of the time, so accepted records are common too.
    .chain((record) =>
      fc.boolean().map((matchData) => {
        const expected = DATA_TYPE_BY_EVENT_TYPE.get(record.eventType as string);
        if (matchData && expected && typeof record.data === 'object' && record.data !== null) {
          return { ...record, data: { ...REQUIRED[expected], ...(record.data as object), type: expected } };
        }
        return record;
      }),
    )
    .map((record) => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)));
  /** Each aliased field of the event, its data and its metadata spelled snake_case, or not, at random. */
  const spelled = policyEvent.chain((record) =>
    fc.boolean().map((snake) => (snake ? snakeCase(record) : record)),
  );

  it('agrees on 3,000 generated records, accepted and refused', () => {
    const seen = { accepted: 0, refused: 0 };
    fc.assert(
      fc.property(spelled, (record) => {
        const verdict = verdicts(record);
        seen[verdict.collector ? 'accepted' : 'refused']++;
        expect({ record, schema: verdict.schema }).toEqual({ record, schema: verdict.collector });
      }),
      { numRuns: 3_000 },
    );
    // Both sides of the boundary were exercised.
    expect(seen.accepted).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(100);
  });
});

/** The hushd formats' schemas, by the format parseRecord detects. */
const HUSHD_SCHEMAS: Partial<Record<SourceFormat, string>> = {
  hushd_audit: 'hushd-audit-event.v1.schema.json',
  hushd_security: 'hushd-security-event.1.0.0.schema.json',
  hushd_webhook: 'hushd-webhook.schema.json',
  hushd_ecs: 'hushd-ecs-document.schema.json',
};

/** Requests whose body is one hushd record (the others wrap records in HEC, OTLP or _bulk envelopes). */
const DIRECT_PATHS =
  /^POST \/(?:ingest\/hushd|ingest\/hushd-siem|ingest\/hushd-certwebhook|hushd-audit\/_doc) /;

/** The records of the captured hushd requests that carry one record each (shared fixtures/hushd-wire). */
function hushdWireRecords(): Record<string, unknown>[] {
  const directory = sharedPath('fixtures', 'hushd-wire');
  return readdirSync(directory)
    .filter((file) => file.endsWith('.http'))
    .map((file) => readFileSync(join(directory, file), 'utf8'))
    .filter((request) => DIRECT_PATHS.test(request))
    .map((request) => JSON.parse(request.split(/\r?\n\r?\n/, 2)[1]!) as Record<string, unknown>);
}

describe('the hushd schemas agree with parseRecord on the captured hushd requests', () => {
  const validators = new Map(Object.entries(HUSHD_SCHEMAS).map(([format, file]) => [format, compile(file)]));

  it('accepts each captured record under the schema of its detected format, as parseRecord does', () => {
    const records = hushdWireRecords();
    const formats = new Set<string>();
    for (const record of records) {
      const format = detectFormat(record);
      formats.add(format);
      const validate = validators.get(format);
      expect(validate, `no schema for ${format}`).toBeDefined();
      const collector = parseRecord(record, { format, receivedAt: '2026-11-25T17:45:00.000Z' }).ok;
      expect({ record, schema: validate!(record), collector }).toEqual({
        record,
        schema: true,
        collector: true,
      });
    }
    expect(records.length).toBeGreaterThanOrEqual(20);
    expect([...formats].sort()).toEqual(
      ['hushd_audit', 'hushd_ecs', 'hushd_security', 'hushd_webhook'].filter((format) => formats.has(format)),
    );
    expect(formats.size).toBeGreaterThanOrEqual(3);
  });
});

/** Every event of the rule fixtures (fixtures/rules/<rule>/*.json), of any wire format. */
function ruleFixtureEvents(): Record<string, unknown>[] {
  const root = join(REPO_ROOT, 'fixtures', 'rules');
  return readdirSync(root).flatMap((rule) =>
    readdirSync(join(root, rule))
      .filter((file) => file.endsWith('.json'))
      .flatMap((file) => {
        const fixture = JSON.parse(readFileSync(join(root, rule, file), 'utf8')) as { events?: unknown[] };
        return (fixture.events ?? []) as Record<string, unknown>[];
      }),
  );
}

describe('every schema agrees with parseRecord on the rule fixtures (fixtures/rules)', () => {
  const validators = new Map<string, ReturnType<typeof compile>>([
    ['policy_event', compile('policy-event.v1.schema.json')],
    ...Object.entries(HUSHD_SCHEMAS).map(([format, file]) => [format, compile(file)] as const),
  ]);

  it('gives each event, in its own spelling and in snake_case, the verdict parseRecord gives', () => {
    const events = ruleFixtureEvents();
    expect(events.length).toBeGreaterThan(100);
    for (const event of events) {
      const format = detectFormat(event);
      const variants = format === 'policy_event' ? [event, snakeCase(event)] : [event];
      for (const record of variants) {
        // Judged at its own time: the fixtures span minutes to days.
        const receivedAt = typeof record.timestamp === 'string' ? record.timestamp : TIME;
        const collector = parseRecord(record, { format, receivedAt }).ok;
        expect({ record, schema: validators.get(format)!(record) }).toEqual({ record, schema: collector });
      }
    }
  });
});
