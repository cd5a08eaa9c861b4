/**
 * Issue 14, item 8: docker-compose.yml held against the Compose Specification's own JSON Schema (vendored in
 * test/compose/compose-spec/, see its README), validated with ajv the way `docker compose config` validates: after merge
 * keys and interpolation, with a fresh clone's empty environment and with .env.example.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { readComposeDocument } from '../compose/compose-file.ts';
import { readEnvFile } from '../compose/env-file.ts';
import { REPO_ROOT } from '../support/shared.ts';

const SCHEMA_PATH = join(REPO_ROOT, 'test', 'compose', 'compose-spec', 'compose-spec.json');
const SCHEMA_TEXT = readFileSync(SCHEMA_PATH, 'utf8');
const COMPOSE = join(REPO_ROOT, 'docker-compose.yml');
const EXAMPLE = readEnvFile(join(REPO_ROOT, '.env.example')).values;

/**
 * Strict, but for strictTypes, which is logged instead: the vendored schema puts `additionalProperties` and
 * `patternProperties` beside `type: "array"` in `definitions.gpus` (ajv strict refuses keywords of another
 * type). Union types (`["boolean", "string"]`) are the schema's style throughout. Its `$schema` is
 * `https://json-schema.org/draft-07/schema`, which ajv knows as `http://json-schema.org/draft-07/schema`:
 * registered under that name too, so the schema is still checked against the draft-07 meta-schema.
 */
function compileComposeSchema() {
  const logged: string[] = [];
  const note = (...parts: unknown[]) => logged.push(parts.join(' '));
  const ajv = new Ajv({
    strict: true,
    strictTypes: 'log',
    allowUnionTypes: true,
    allErrors: true,
    logger: { log: note, warn: note, error: note },
  });
  const draft07 = ajv.getSchema('http://json-schema.org/draft-07/schema')!.schema as object;
  ajv.addMetaSchema({ ...draft07, $id: 'https://json-schema.org/draft-07/schema' });
  return { validate: ajv.compile(JSON.parse(SCHEMA_TEXT)), logged };
}

const { validate, logged } = compileComposeSchema();
const problems = (document: unknown): string[] =>
  validate(document)
    ? []
    : (validate.errors ?? []).map((error: ErrorObject) => `${error.instancePath} ${error.message}`);

describe('docker-compose.yml against the Compose Specification schema', () => {
  it('uses the vendored schema as fetched (size and digest from its README)', () => {
    expect(Buffer.byteLength(SCHEMA_TEXT)).toBe(74_133);
    expect(createHash('sha256').update(SCHEMA_TEXT).digest('hex')).toBe(
      'bc50c2d79102aed8df21b3a13e56c9396c7a06da6cff5ce37629f2ee7eb41735',
    );
  });

  it('compiles under ajv strict, the only notes being the two known strictTypes ones in definitions.gpus', () => {
    expect(logged).toEqual([
      'strict mode: missing type "object" for keyword "additionalProperties" at "compose_spec.json#/oneOf/1" (strictTypes)',
      'strict mode: missing type "object" for keyword "patternProperties" at "compose_spec.json#/oneOf/1" (strictTypes)',
    ]);
  });

  it.each([
    ['a fresh clone (no .env)', {}],
    ['.env copied from .env.example', EXAMPLE],
  ])('validates with %s', (_name, vars) => {
    expect(problems(readComposeDocument(COMPOSE, vars))).toEqual([]);
  });

  it('is a real check: it refuses what Compose refuses', () => {
    const document = readComposeDocument(COMPOSE, EXAMPLE) as {
      services: Record<string, Record<string, unknown>>;
    };
    const [name, service] = Object.entries(document.services).find(([, item]) => item.env_file)!;
    const mutate = (change: Record<string, unknown>) => ({
      ...document,
      services: { ...document.services, [name]: { ...service, ...change } },
    });
    expect(problems(mutate({ restart_policy: 'always' }))).toContain(
      `/services/${name} must NOT have additional properties`,
    );
    expect(
      problems(mutate({ env_file: [{ path: '.env', required: false, optional: true }] })).length,
    ).toBeGreaterThan(0);
    expect(
      problems(mutate({ depends_on: { kafka: { condition: 'service_ready' } } })).length,
    ).toBeGreaterThan(0);
    expect(problems({ ...document, services: { 'bad name!': service } }).length).toBeGreaterThan(0);
    // env_file entries with `required` (Compose 2.24+) are valid; Debian's docker-compose 1.29 rejects them.
    expect(problems(mutate({ env_file: [{ path: '.env', required: false }] }))).toEqual([]);
  });
});
